"""Factories of sharing objects."""

from __future__ import annotations

from port2port.core.models import OrganisationKind
from port2port.sharing import services
from port2port.sharing.models import Circle, CircleMember, Distribution, Kind, Tlp

from ..core.factories import OrganisationFactory, PortFactory, user_in  # noqa: F401


def circle_with(*members, name: str = "Taskforce Containers", owner=None) -> Circle:
    """A circle whose members (organisations or users) are active; the first is the owner."""
    circle = Circle.objects.create(name=name)
    for index, member in enumerate(members):
        kwargs = {"organisation": member} if hasattr(member, "kind") else {"user": member}
        CircleMember.objects.create(
            circle=circle, status=CircleMember.Status.ACTIVE, is_owner=index == 0, **kwargs
        )
    return circle


def share(
    author,
    *,
    title="Cloned seals on reefer containers",
    tlp=Tlp.AMBER,
    distribution=Distribution.PLATFORM,
    **kwargs,
):
    kwargs.setdefault("kind", Kind.MODUS_OPERANDI)
    return services.item_create(
        actor=author, title=title, tlp=tlp, distribution=distribution, **kwargs
    )


def terminal(port=None, **kwargs):
    return OrganisationFactory(
        kind=OrganisationKind.FACILITY_OPERATOR, ports=[port or PortFactory()], **kwargs
    )
