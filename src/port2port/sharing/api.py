"""Sharing API: items, comments, sightings, circles, search, import and export. No logic here."""

from datetime import datetime
from uuid import UUID

from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema, Status, UploadedFile
from ninja.pagination import paginate

from port2port.core.apibase import Pagination
from port2port.core.models import User

from . import search, selectors, services
from .models import CircleMember

router = Router(tags=["sharing"])


class ItemOut(Schema):
    id: UUID
    kind: str
    title: str
    body: str
    language: str
    tlp: str
    distribution: str
    circle: UUID | None = Field(None, alias="circle_id")
    urgency: str
    min_clearance: str
    source_organisation: str = Field(alias="source_org.name")
    topics: list[str]
    ports: list[str]
    version: int
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_topics(obj) -> list[str]:
        return [t.slug for t in obj.topics.all()]

    @staticmethod
    def resolve_ports(obj) -> list[str]:
        return [p.locode for p in obj.ports.all()]


class SearchHit(ItemOut):
    snippet: str = ""


class ItemIn(Schema):
    kind: str
    title: str = Field(min_length=1, max_length=200)
    body: str = ""
    language: str = "en"
    topics: list[str] = []
    ports: list[str] = []
    urgency: str = "routine"
    tlp: str
    distribution: str
    circle: UUID | None = None
    recipients: list[str] = Field(default_factory=list, description="usernames")
    min_clearance: str = "none"


class ItemPatch(Schema):
    title: str | None = None
    body: str | None = None
    kind: str | None = None
    urgency: str | None = None
    tlp: str | None = None
    distribution: str | None = None
    min_clearance: str | None = None
    topics: list[str] | None = None
    ports: list[str] | None = None


class CommentOut(Schema):
    id: UUID
    organisation: str = Field(alias="organisation.name")
    body: str
    created_at: datetime


class CommentIn(Schema):
    body: str


class SightingIn(Schema):
    anonymous: bool = False
    note: str = ""


class SightingOut(Schema):
    organisation: str = Field(alias="organisation_name")
    note: str
    created_at: datetime


class CircleOut(Schema):
    id: UUID
    name: str
    description: str


class CircleIn(Schema):
    name: str
    description: str = ""


class InviteIn(Schema):
    organisation: UUID | None = None
    username: str | None = None


class MemberOut(Schema):
    id: UUID
    organisation: UUID | None = Field(None, alias="organisation_id")
    user: UUID | None = Field(None, alias="user_id")
    status: str
    is_owner: bool


class ImportOut(Schema):
    items: list[dict]
    indicators: int
    skipped: list[dict]
    notes: list[str]


def _circle(viewer, circle_id):
    return selectors.circle_get(viewer, circle_id) if circle_id else None


@router.get("/items", response=list[ItemOut])
@paginate(Pagination)
def items_list(
    request, topic: str = "", port: str = "", kind: str = "", tlp: str = "", urgency: str = ""
):
    return selectors.feed_for(
        request.auth,
        selectors.FeedFilter(topic=topic, port=port, kind=kind, tlp=tlp, urgency=urgency),
    )


@router.get("/items/{item_id}", response=ItemOut)
def item_detail(request, item_id: UUID):
    return selectors.item_get(request.auth, item_id)


@router.post("/items", response={201: ItemOut})
def item_create(request, payload: ItemIn):
    data = payload.dict()
    data["circle"] = _circle(request.auth, data.pop("circle"))
    return Status(201, services.item_create(actor=request.auth, **data))


@router.patch("/items/{item_id}", response=ItemOut)
def item_update(request, item_id: UUID, payload: ItemPatch):
    item = selectors.item_get(request.auth, item_id)
    return services.item_update(actor=request.auth, item=item, **payload.dict(exclude_unset=True))


@router.get("/search", response=list[SearchHit])
@paginate(Pagination)
def search_items(request, q: str, topic: str = "", port: str = "", kind: str = "", tlp: str = ""):
    visible = selectors.feed_for(
        request.auth, selectors.FeedFilter(topic=topic, port=port, kind=kind, tlp=tlp)
    )
    return search.matching(visible, q)


@router.get("/items/{item_id}/comments", response=list[CommentOut])
@paginate(Pagination)
def comments_list(request, item_id: UUID):
    return selectors.comments_of(request.auth, selectors.item_get(request.auth, item_id))


@router.post("/items/{item_id}/comments", response={201: CommentOut})
def comment_create(request, item_id: UUID, payload: CommentIn):
    item = selectors.item_get(request.auth, item_id)
    return Status(201, services.comment_create(actor=request.auth, item=item, body=payload.body))


@router.get("/items/{item_id}/sightings", response=list[SightingOut])
@paginate(Pagination)
def sightings_list(request, item_id: UUID):
    return selectors.sightings_of(request.auth, selectors.item_get(request.auth, item_id))


@router.post("/items/{item_id}/sightings", response={201: dict})
def sighting_create(request, item_id: UUID, payload: SightingIn):
    item = selectors.item_get(request.auth, item_id)
    sighting = services.sighting_create(
        actor=request.auth, item=item, anonymous=payload.anonymous, note=payload.note
    )
    return Status(201, {"id": str(sighting.pk), "anonymous": sighting.anonymous})


@router.post("/items/{item_id}/widening-requests", response={201: dict})
def widening_request(request, item_id: UUID, payload: CommentIn):
    item = selectors.item_get(request.auth, item_id)
    created = services.widening_request_create(actor=request.auth, item=item, message=payload.body)
    return Status(201, {"id": str(created.pk), "status": created.status})


@router.get("/circles", response=list[CircleOut])
@paginate(Pagination)
def circles_list(request):
    return selectors.circles_visible_to(request.auth)


@router.post("/circles", response={201: CircleOut})
def circle_create(request, payload: CircleIn):
    return Status(
        201,
        services.circle_create(
            actor=request.auth, name=payload.name, description=payload.description
        ),
    )


@router.get("/circles/{circle_id}/members", response=list[MemberOut])
@paginate(Pagination)
def circle_members(request, circle_id: UUID):
    return selectors.circle_members(request.auth, selectors.circle_get(request.auth, circle_id))


@router.post("/circles/{circle_id}/invitations", response={201: MemberOut})
def circle_invite(request, circle_id: UUID, payload: InviteIn):
    from port2port.core.selectors import organisation_get

    circle = selectors.circle_get(request.auth, circle_id)
    organisation = (
        organisation_get(request.auth, payload.organisation) if payload.organisation else None
    )
    user = (
        User.objects.filter(username=payload.username, is_active=True).first()
        if payload.username
        else None
    )
    if payload.username and user is None:
        from port2port.core.errors import Invalid

        raise Invalid(_("unknown user"), field="username")
    return Status(
        201,
        services.circle_invite(
            actor=request.auth, circle=circle, organisation=organisation, user=user
        ),
    )


@router.post("/circles/members/{member_id}/respond", response=MemberOut)
def circle_respond(request, member_id: UUID, accept: bool = True):
    member = CircleMember.objects.filter(
        pk=member_id, circle__in=selectors.circles_visible_to(request.auth)
    ).first()
    if member is None:
        from port2port.core.errors import NotFound

        raise NotFound(_("membership not found"))
    return services.circle_respond(actor=request.auth, member=member, accept=accept)


@router.post("/import", response={201: ImportOut})
def items_import(
    request,
    format: Form[str],
    file: File[UploadedFile],
    tlp: Form[str] = "",
    distribution: Form[str] = "platform",
    circle: Form[UUID | None] = None,
):
    report = services.items_import(
        actor=request.auth,
        fmt=format,
        data=file.read(),
        tlp=tlp or None,
        distribution=distribution,
        circle=_circle(request.auth, circle),
    )
    return Status(201, report.as_dict())


@router.get("/export", response={200: dict})
def items_export(request, format: Query[str] = "stix"):
    if format != "stix":
        from port2port.core.errors import Invalid

        raise Invalid(_("only format=stix is exported"), field="format")
    import json

    bundle = services.items_export_stix(actor=request.auth)
    return HttpResponse(json.dumps(bundle), content_type="application/stix+json;version=2.1")
