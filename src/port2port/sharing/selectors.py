"""The one visibility rule of shared knowledge (DESIGN.md §4, issue 3) and every read of sharing.

An item reaches a viewer when ALL of these hold (the most restrictive wins):
- the viewer holds `sharing:item:view` in at least one organisation (their "sharing organisations");
- the viewer's clearance is at least the item's minimum clearance;
- the TLP allows it: RED only the named people; AMBER+STRICT only the source organisation and the
  named people; AMBER, GREEN and CLEAR the audience of the distribution;
- the distribution's audience: the source organisation always; "organisation" nobody else;
  "port community" the organisations sharing a port with the source; "platform" everyone;
  "circle" the circle's active member organisations and active member people; "named" the named
  people.
The author of an item always sees it. An API token is its organisation, with no clearance and no
person, so it never sees RED or named-only items.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from port2port.core.models import ClearanceLevel, Organisation, User
from port2port.core.roles import Perm
from port2port.core.visibility import OrganisationActor, TokenPrincipal, one_or_404

from .models import (
    Attachment,
    Circle,
    CircleMember,
    Comment,
    Distribution,
    Item,
    Notification,
    Sighting,
    Tlp,
    WideningRequest,
)

OPEN_TLPS = (Tlp.AMBER, Tlp.GREEN, Tlp.CLEAR)


@dataclass(frozen=True)
class SharingViewer:
    """What the rule needs to know about a viewer, computed once per request."""

    user_id: Any
    org_ids: frozenset
    clearance_rank: int

    @property
    def is_person(self) -> bool:
        return self.user_id is not None


def sharing_viewer(viewer: Any) -> SharingViewer:
    cached = getattr(viewer, "_sharing_viewer", None) if viewer is not None else None
    if cached is not None:
        return cached
    if isinstance(viewer, TokenPrincipal):
        orgs = (
            frozenset({viewer.token.organisation_id})
            if Perm.SHARING_ITEM_VIEW in viewer.token.scopes
            else frozenset()
        )
        result = SharingViewer(None, orgs, 0)
    elif isinstance(viewer, OrganisationActor):
        result = SharingViewer(None, frozenset({viewer.organisation.pk}), 0)
    elif isinstance(viewer, User) and viewer.is_authenticated and viewer.is_active:
        orgs = frozenset(
            m.organisation_id for m in viewer.grants() if Perm.SHARING_ITEM_VIEW in m.perms()
        )
        result = SharingViewer(viewer.pk, orgs, ClearanceLevel.rank(viewer.effective_clearance()))
        viewer._sharing_viewer = result
    else:
        result = SharingViewer(None, frozenset(), 0)
    return result


def orgs_acting_for(viewer: Any, perm: Perm) -> frozenset:
    """Organisations in which `viewer` itself holds `perm` — by membership, never by the platform
    admin's reach: sharing speaks for an organisation only through its own people (and tokens)."""
    if isinstance(viewer, OrganisationActor):
        return frozenset({viewer.organisation.pk})
    if isinstance(viewer, TokenPrincipal):
        return (
            frozenset({viewer.token.organisation_id})
            if perm in viewer.token.scopes
            else frozenset()
        )
    if isinstance(viewer, User) and viewer.is_authenticated and viewer.is_active:
        return frozenset(m.organisation_id for m in viewer.grants() if perm in m.perms())
    return frozenset()


def forget_viewer(viewer: Any) -> None:
    if viewer is not None and hasattr(viewer, "__dict__"):
        viewer.__dict__.pop("_sharing_viewer", None)


def circle_ids_of(v: SharingViewer) -> QuerySet:
    """Circles in which the viewer, or one of their sharing organisations, is an active member."""
    member = Q(organisation_id__in=v.org_ids)
    if v.is_person:
        member |= Q(user_id=v.user_id)
    return CircleMember.objects.filter(member, status=CircleMember.Status.ACTIVE).values(
        "circle_id"
    )


def port_community_of(v: SharingViewer) -> QuerySet:
    """Organisations that share at least one port with one of the viewer's organisations."""
    return Organisation.objects.filter(ports__organisations__in=v.org_ids).values("pk")


def visibility_q(v: SharingViewer) -> Q:
    if not v.org_ids:
        return Q(pk__in=[])
    source = Q(source_org_id__in=v.org_ids)
    if v.is_person:
        named = Q(
            Exists(
                Item.recipients.through.objects.filter(item_id=OuterRef("pk"), user_id=v.user_id)
            )
        )
    else:
        named = Q(pk__in=[])
    audience = (
        source
        | Q(distribution=Distribution.PLATFORM)
        | Q(distribution=Distribution.PORT_COMMUNITY, source_org_id__in=port_community_of(v))
        | Q(distribution=Distribution.CIRCLE, circle_id__in=circle_ids_of(v))
        | (Q(distribution=Distribution.NAMED) & named)
    )
    by_tlp = (
        (Q(tlp=Tlp.RED) & named)
        | (Q(tlp=Tlp.AMBER_STRICT) & (source | named))
        | (Q(tlp__in=OPEN_TLPS) & audience)
    )
    # No exception for authors: they are named on their RED items, and their organisation is the
    # source of everything else they share; whoever loses the role loses the item.
    return by_tlp & Q(min_clearance_rank__lte=v.clearance_rank)


def items_visible_to(viewer: Any) -> QuerySet[Item]:
    """Every item `viewer` may see. Feed, detail, search, comments, attachments, notifications,
    API and export all start here."""
    return Item.objects.filter(visibility_q(sharing_viewer(viewer)))


def item_visible_to(viewer: Any, item: Item) -> bool:
    return items_visible_to(viewer).filter(pk=item.pk).exists()


def item_get(viewer: Any, item_id) -> Item:
    return one_or_404(
        items_visible_to(viewer).select_related("source_org", "author", "circle"), pk=item_id
    )


@dataclass
class FeedFilter:
    topic: str = ""
    port: str = ""
    kind: str = ""
    tlp: str = ""
    urgency: str = ""
    circle: str = ""


def feed_for(viewer: Any, filters: FeedFilter | None = None) -> QuerySet[Item]:
    f = filters or FeedFilter()
    qs = items_visible_to(viewer)
    if f.topic:
        qs = qs.filter(
            pk__in=Item.topics.through.objects.filter(topic_id=f.topic).values("item_id")
        )
    if f.port:
        qs = qs.filter(
            pk__in=Item.ports.through.objects.filter(port__locode=f.port.upper()).values("item_id")
        )
    if f.kind:
        qs = qs.filter(kind=f.kind)
    if f.tlp:
        qs = qs.filter(tlp=f.tlp)
    if f.urgency:
        qs = qs.filter(urgency=f.urgency)
    if f.circle:
        qs = qs.filter(circle_id=f.circle)
    return (
        qs.select_related("source_org", "circle")
        .prefetch_related("topics", "ports")
        .order_by("-created_at")
    )


def public_item_get(item_id) -> Item:
    return one_or_404(public_items(), pk=item_id)


def public_items() -> QuerySet[Item]:
    """TLP:CLEAR items shared with the whole platform: the only ones on the public page."""
    return (
        Item.objects.filter(tlp=Tlp.CLEAR, distribution=Distribution.PLATFORM, min_clearance_rank=0)
        .select_related("source_org")
        .order_by("-created_at")
    )


def comments_of(viewer: Any, item: Item) -> QuerySet[Comment]:
    item_get(viewer, item.pk)
    return Comment.objects.filter(item=item).select_related("organisation", "author")


@dataclass
class SightingView:
    organisation_name: str
    note: str
    created_at: Any
    mine: bool


def sightings_of(viewer: Any, item: Item) -> list[SightingView]:
    """Sightings of a visible item; an anonymous one names its organisation only to itself."""
    item_get(viewer, item.pk)
    v = sharing_viewer(viewer)
    result = []
    for sighting in Sighting.objects.filter(item=item).select_related("organisation"):
        mine = sighting.organisation_id in v.org_ids
        shown = sighting.organisation.name if (mine or not sighting.anonymous) else ""
        result.append(SightingView(shown, sighting.note, sighting.created_at, mine))
    return result


def attachment_get(viewer: Any, attachment_id) -> Attachment:
    return one_or_404(
        Attachment.objects.select_related("item").filter(item__in=items_visible_to(viewer)),
        pk=attachment_id,
    )


def notifications_for(viewer: User, *, unread_only: bool = False) -> QuerySet[Notification]:
    """The inbox: re-checked against the rule, so an item narrowed since never shows."""
    qs = Notification.objects.filter(user=viewer, item__in=items_visible_to(viewer)).select_related(
        "item"
    )
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs


def circles_visible_to(viewer: Any) -> QuerySet[Circle]:
    """Circles are closed: members and invitees see them (an organisation's or their own)."""
    v = sharing_viewer(viewer)
    member = Q(organisation_id__in=v.org_ids)
    if v.is_person:
        member |= Q(user_id=v.user_id)
    ids = CircleMember.objects.filter(
        member, status__in=[CircleMember.Status.ACTIVE, CircleMember.Status.INVITED]
    ).values("circle_id")
    return Circle.objects.filter(pk__in=ids)


def circle_get(viewer: Any, circle_id) -> Circle:
    return one_or_404(circles_visible_to(viewer), pk=circle_id)


def circles_postable_by(viewer: Any) -> QuerySet[Circle]:
    v = sharing_viewer(viewer)
    return Circle.objects.filter(pk__in=circle_ids_of(v))


def circle_owner(viewer: Any, circle: Circle) -> bool:
    """Owners extend a circle: an owning person, or someone who may start circles for an owning
    organisation. Readers and tokens never act as owners."""
    if isinstance(viewer, TokenPrincipal):
        return False
    owner = Q(organisation_id__in=orgs_acting_for(viewer, Perm.SHARING_CIRCLE_CREATE))
    if isinstance(viewer, User):
        owner |= Q(user_id=viewer.pk)
    return CircleMember.objects.filter(
        owner, circle=circle, is_owner=True, status=CircleMember.Status.ACTIVE
    ).exists()


def circle_members(viewer: Any, circle: Circle) -> QuerySet[CircleMember]:
    circle_get(viewer, circle.pk)
    return CircleMember.objects.filter(circle=circle).select_related(
        "organisation", "user", "user__person"
    )


def invitations_for(viewer: Any) -> QuerySet[CircleMember]:
    v = sharing_viewer(viewer)
    mine = Q(organisation_id__in=v.org_ids)
    if v.is_person:
        mine |= Q(user_id=v.user_id)
    return CircleMember.objects.filter(mine, status=CircleMember.Status.INVITED).select_related(
        "circle", "organisation"
    )


def widening_requests_for(viewer: Any) -> QuerySet[WideningRequest]:
    """Open requests about items the viewer's organisations shared — and the viewer may see."""
    return WideningRequest.objects.filter(
        item__source_org_id__in=orgs_acting_for(viewer, Perm.SHARING_ITEM_CREATE),
        item__in=items_visible_to(viewer),
        status=WideningRequest.Status.OPEN,
    ).select_related("item", "organisation")
