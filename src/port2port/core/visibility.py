"""The one mechanism behind every module's visibility rule (DESIGN.md §4).

A viewer (a signed-in user or an organisation API token) holds permissions in organisations.
`reach(viewer, perm)` says in which organisations a permission may be used; `restrict()` narrows a
queryset to the objects of those organisations through the model's `VISIBILITY_ORG_FIELD`.
Anything outside answers `NotFound`, exactly like a missing object.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Model, QuerySet
from django.utils.translation import gettext as _

from .errors import Forbidden, NotFound
from .roles import PORT_WIDE_PERMS, PORT_WIDE_ROLES, Perm, Role

if TYPE_CHECKING:
    from .models import ApiToken


@dataclass(frozen=True)
class Reach:
    everything: bool = False
    org_ids: frozenset = frozenset()

    def __bool__(self) -> bool:
        return self.everything or bool(self.org_ids)

    def covers(self, organisation_id) -> bool:
        return self.everything or organisation_id in self.org_ids


NOWHERE = Reach()


@dataclass
class TokenPrincipal:
    """An organisation API token acting as a viewer: its scopes, in its organisation only."""

    token: ApiToken

    is_authenticated = True
    is_active = True

    @property
    def organisation(self):
        return self.token.organisation

    @property
    def pk(self):
        return None

    def __str__(self) -> str:
        return f"token:{self.token.prefix}"


class SystemActor:
    """The platform itself acting from the command line (operators with shell access)."""

    is_authenticated = True
    is_active = True
    pk = None

    def __str__(self) -> str:
        return "system"


SYSTEM = SystemActor()


@dataclass
class OrganisationActor:
    """An operator acting for one organisation from the command line (imports, exports): every
    permission, but inside that organisation only, with no clearance and no person."""

    organisation: Any

    is_authenticated = True
    is_active = True
    pk = None

    def __str__(self) -> str:
        return f"cli:{self.organisation}"


def reach(viewer: Any, perm: Perm) -> Reach:
    """Where `viewer` may use `perm`."""
    if isinstance(viewer, SystemActor):
        return Reach(everything=True)
    if isinstance(viewer, OrganisationActor):
        return Reach(org_ids=frozenset({viewer.organisation.pk}))
    if viewer is None or not getattr(viewer, "is_authenticated", False):
        return NOWHERE
    if not getattr(viewer, "is_active", False):
        return NOWHERE
    if isinstance(viewer, TokenPrincipal):
        if perm not in viewer.token.scopes:
            return NOWHERE
        return Reach(org_ids=frozenset({viewer.token.organisation_id}))
    return _user_reach(viewer, perm)


def _user_reach(user, perm: Perm) -> Reach:
    cache = user.__dict__.setdefault("_reach_cache", {})
    if perm in cache:
        return cache[perm]
    from .models import Organisation, OrganisationKind

    grants = user.grants()
    if any(Role.PLATFORM_ADMIN in m.roles for m in grants):
        result = Reach(everything=True)
    else:
        org_ids = {m.organisation_id for m in grants if perm in m.perms()}
        if perm in PORT_WIDE_PERMS:
            authority_ids = [
                m.organisation_id
                for m in grants
                if m.organisation.kind == OrganisationKind.PORT_AUTHORITY
                and PORT_WIDE_ROLES.intersection(m.roles)
            ]
            if authority_ids:
                org_ids |= set(
                    Organisation.objects.filter(ports__organisations__in=authority_ids).values_list(
                        "pk", flat=True
                    )
                )
        result = Reach(org_ids=frozenset(org_ids))
    cache[perm] = result
    return result


def forget(viewer: Any) -> None:
    """Drop cached grants after the viewer's memberships changed."""
    if hasattr(viewer, "forget_grants"):
        viewer.forget_grants()
    if hasattr(viewer, "__dict__"):
        viewer.__dict__.pop("_reach_cache", None)


def restrict(queryset: QuerySet, viewer: Any, perm: Perm) -> QuerySet:
    """Narrow `queryset` to what `viewer` may see or act on with `perm`."""
    model = queryset.model
    if isinstance(viewer, TokenPrincipal) and perm not in viewer.token.scopes:
        raise Forbidden(_("this API token lacks the scope %(scope)s") % {"scope": perm})
    result = reach(viewer, perm)
    if not result:
        return queryset.none()
    if result.everything:
        return queryset
    field = model.VISIBILITY_ORG_FIELD
    if field is None:  # platform-wide reference data: visible to anyone holding the permission
        return queryset
    if "__" in field:  # a multi-valued path: filter through a subquery to avoid duplicates
        inner = model._default_manager.filter(**{f"{field}__in": result.org_ids}).values("pk")
        return queryset.filter(pk__in=inner)
    return queryset.filter(**{f"{field}__in": result.org_ids})


def one_or_404(queryset: QuerySet, **lookup) -> Model:
    """The one object of an already restricted queryset, else NotFound naming the model.

    A missing object, one outside the viewer's rule and a malformed id (a bad UUID raises
    ValidationError) all answer alike; any other error (the database) is not swallowed.
    """
    from django.core.exceptions import ValidationError

    try:
        return queryset.get(**lookup)
    except (queryset.model.DoesNotExist, ValidationError, ValueError, TypeError) as exc:
        raise NotFound(
            _("%(what)s not found") % {"what": queryset.model._meta.verbose_name}
        ) from exc


def get_visible(queryset: QuerySet, viewer: Any, perm: Perm, **lookup) -> Model:
    """One object of `queryset` that `viewer` may see, else NotFound (never Forbidden)."""
    return one_or_404(restrict(queryset, viewer, perm), **lookup)


def require(viewer: Any, perm: Perm, *, on: Any = None) -> None:
    """Raise Forbidden unless `viewer` holds `perm` (in the organisation `on`, when given).

    `on` is an organisation or its id; with None, the permission must reach everything
    (platform-wide acts such as creating an organisation).
    """
    result = reach(viewer, perm)
    if on is None:
        if not result.everything:
            raise Forbidden(_("you are not allowed to do this"))
        return
    organisation_id = getattr(on, "pk", on)
    if not result.covers(organisation_id):
        raise Forbidden(_("you are not allowed to do this"))


def recheck(viewer: Any, perm: Perm, obj: Model) -> None:
    """After a write: the result must still be inside the writer's view, else the write is undone."""
    model = type(obj)
    if not restrict(model._default_manager.filter(pk=obj.pk), viewer, perm).exists():
        raise Forbidden(_("the result of this change would be outside what you may see"))
