"""Core API: ports, organisations, people, memberships, tokens, audit. No logic: services and selectors."""

from datetime import date, datetime
from uuid import UUID

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from . import selectors, services
from .apibase import Pagination
from .errors import Forbidden
from .models import User

router = Router()


class PortOut(Schema):
    id: UUID
    locode: str
    name: str
    kind: str


class OrganisationOut(Schema):
    id: UUID
    name: str
    short_name: str
    kind: str
    ports: list[str]
    vat_number: str
    eori_number: str

    @staticmethod
    def resolve_ports(obj) -> list[str]:
        return sorted(port.locode for port in obj.ports.all())


class OrganisationIn(Schema):
    name: str = Field(min_length=1, max_length=200)
    kind: str
    ports: list[str] = Field(default_factory=list, description="UN/LOCODEs, e.g. BEANR")
    short_name: str = ""
    vat_number: str = ""
    eori_number: str = ""


class OrganisationPatch(Schema):
    name: str | None = None
    short_name: str | None = None
    vat_number: str | None = None
    eori_number: str | None = None


class PersonOut(Schema):
    id: UUID
    organisation: UUID = Field(alias="organisation_id")
    given_name: str
    family_name: str
    email: str
    phone: str
    job_title: str


class PersonIn(Schema):
    organisation: UUID
    given_name: str = Field(min_length=1, max_length=100)
    family_name: str = Field(min_length=1, max_length=100)
    email: str = ""
    phone: str = ""
    job_title: str = ""


class MembershipOut(Schema):
    id: UUID
    user: UUID = Field(alias="user_id")
    username: str = Field(alias="user.username")
    organisation: UUID = Field(alias="organisation_id")
    roles: list[str]


class MembershipIn(Schema):
    user: UUID
    organisation: UUID
    roles: list[str]


class TokenOut(Schema):
    id: UUID
    organisation: UUID = Field(alias="organisation_id")
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenIn(Schema):
    organisation: UUID
    name: str
    scopes: list[str]
    expires_at: datetime | None = None


class TokenCreated(TokenOut):
    secret: str = Field(description="Shown once. Store it now; only its hash is kept.")


class AuditOut(Schema):
    seq: int
    uid: UUID
    at: datetime
    actor: str = Field(alias="actor_label")
    action: str
    object_type: str
    object_id: str
    object_repr: str
    organisation: UUID | None = Field(alias="organisation_id")
    details: dict


class AuditQuery(Schema):
    action: str = ""
    actor: str = ""
    organisation: UUID | None = None
    object_id: str = ""
    since: date | None = None
    until: date | None = None


class MeOut(Schema):
    kind: str
    name: str
    organisations: list[UUID]
    scopes: list[str] = []


def _session_user(request) -> User:
    if not isinstance(request.auth, User):
        raise Forbidden(_("this needs a signed-in person, not an API token"))
    return request.auth


@router.get("/me", response=MeOut, tags=["core"])
def me(request):
    viewer = request.auth
    if isinstance(viewer, User):
        return {
            "kind": "user",
            "name": viewer.username,
            "organisations": [m.organisation_id for m in viewer.grants()],
        }
    return {
        "kind": "token",
        "name": viewer.token.name,
        "organisations": [viewer.token.organisation_id],
        "scopes": viewer.token.scopes,
    }


@router.get("/ports", response=list[PortOut], tags=["core"])
@paginate(Pagination)
def ports_list(request):
    return selectors.ports_visible_to(request.auth)


@router.get("/organisations", response=list[OrganisationOut], tags=["core"])
@paginate(Pagination)
def organisations_list(request, q: str = "", port: str = "", kind: str = ""):
    return selectors.organisations_visible_to(request.auth, search=q, port=port, kind=kind)


@router.get("/organisations/{organisation_id}", response=OrganisationOut, tags=["core"])
def organisation_detail(request, organisation_id: UUID):
    return selectors.organisation_get(request.auth, organisation_id)


@router.post("/organisations", response={201: OrganisationOut}, tags=["core"])
def organisation_create(request, payload: OrganisationIn):
    return Status(201, services.organisation_create(actor=request.auth, **payload.dict()))


@router.patch("/organisations/{organisation_id}", response=OrganisationOut, tags=["core"])
def organisation_update(request, organisation_id: UUID, payload: OrganisationPatch):
    organisation = selectors.organisation_get(request.auth, organisation_id)
    changes = payload.dict(exclude_unset=True)
    return services.organisation_update(actor=request.auth, organisation=organisation, **changes)


@router.get("/people", response=list[PersonOut], tags=["core"])
@paginate(Pagination)
def people_list(request, q: str = ""):
    return selectors.people_visible_to(request.auth, search=q)


@router.get("/people/{person_id}", response=PersonOut, tags=["core"])
def person_detail(request, person_id: UUID):
    return selectors.person_get(request.auth, person_id)


@router.post("/people", response={201: PersonOut}, tags=["core"])
def person_create(request, payload: PersonIn):
    data = payload.dict()
    organisation = selectors.organisation_get(request.auth, data.pop("organisation"))
    return Status(
        201, services.person_create(actor=request.auth, organisation=organisation, **data)
    )


@router.get("/memberships", response=list[MembershipOut], tags=["core"])
@paginate(Pagination)
def memberships_list(request):
    return selectors.memberships_visible_to(request.auth)


@router.put("/memberships", response=MembershipOut, tags=["core"])
def membership_set(request, payload: MembershipIn):
    actor = _session_user(request)
    user = selectors.user_get(actor, payload.user)
    organisation = selectors.organisation_get(actor, payload.organisation)
    return services.membership_set(
        actor=actor, user=user, organisation=organisation, roles=payload.roles
    )


@router.get("/tokens", response=list[TokenOut], tags=["core"])
@paginate(Pagination)
def tokens_list(request):
    return selectors.tokens_visible_to(request.auth)


@router.post("/tokens", response={201: TokenCreated}, tags=["core"])
def token_create(request, payload: TokenIn):
    actor = _session_user(request)
    organisation = selectors.organisation_get(actor, payload.organisation)
    token, secret = services.token_create(
        actor=actor,
        organisation=organisation,
        name=payload.name,
        scopes=payload.scopes,
        expires_at=payload.expires_at,
    )
    token.secret = secret
    return Status(201, token)


@router.delete("/tokens/{token_id}", response=TokenOut, tags=["core"])
def token_revoke(request, token_id: UUID):
    actor = _session_user(request)
    return services.token_revoke(actor=actor, token=selectors.token_get(actor, token_id))


@router.get("/audit", response=list[AuditOut], tags=["core"])
@paginate(Pagination)
def audit_list(request, filters: Query[AuditQuery]):
    data = filters.dict()
    data["organisation"] = str(data["organisation"] or "")
    return selectors.audit_records_visible_to(request.auth, selectors.AuditFilter(**data))
