"""The only write path of sharing: one function per thing that can happen, atomic and audited."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from port2port.core import audit
from port2port.core.errors import Conflict, Forbidden, Invalid, NotFound
from port2port.core.identifiers import is_uuid
from port2port.core.models import ClearanceLevel, Organisation, Port, User
from port2port.core.roles import Perm
from port2port.core.visibility import require

from . import attachments as attachment_rules
from .models import (
    Attachment,
    Circle,
    CircleMember,
    Comment,
    Distribution,
    Indicator,
    Item,
    ItemSearch,
    ItemVersion,
    Kind,
    Language,
    Notification,
    Sighting,
    Subscription,
    Tlp,
    Topic,
    Urgency,
    WideningRequest,
)
from .selectors import (
    circle_ids_of,
    forget_viewer,
    item_get,
    item_visible_to,
    orgs_acting_for,
    sharing_viewer,
)

log = logging.getLogger(__name__)


def _choice(value, choices, field: str) -> str:
    if value not in choices.values:
        raise Invalid(
            _("“%(value)s” is not a valid %(field)s") % {"value": value, "field": field},
            field=field,
        )
    return value


def _sharing_org_of(
    actor: Any, perm: Perm, organisation: Organisation | None = None
) -> Organisation:
    """The organisation the actor speaks for: the given one (checked) or their first one.

    Only the organisation's own people (or its tokens, or an operator acting for it) speak for it;
    a platform admin of another organisation does not.
    """
    allowed = orgs_acting_for(actor, perm)
    if organisation is not None:
        if organisation.pk not in allowed:
            raise Forbidden(_("you cannot act for this organisation"))
        return organisation
    if not allowed:
        raise Forbidden(_("you are not allowed to do this"))
    return Organisation.objects.filter(pk__in=allowed).order_by("name").first()


def _require_person(actor: Any) -> None:
    """Comments, sightings and requests speak for a person, never for a machine token."""
    if not isinstance(actor, User):
        raise Forbidden(_("a person must do this, not an API token"))


# Items ------------------------------------------------------------------------------------------


def _topics(slugs) -> list[Topic]:
    slugs = list(dict.fromkeys(slugs or []))
    found = {t.slug: t for t in Topic.objects.filter(slug__in=slugs)}
    unknown = [s for s in slugs if s not in found]
    if unknown:
        raise Invalid(_("unknown topic “%(topic)s”") % {"topic": unknown[0]}, field="topics")
    return [found[s] for s in slugs]


def _ports(locodes) -> list[Port]:
    result = []
    for code in dict.fromkeys(locodes or []):
        port = (
            code
            if isinstance(code, Port)
            else Port.objects.filter(locode=str(code).upper()).first()
        )
        if port is None:
            raise Invalid(_("unknown port “%(port)s”") % {"port": code}, field="ports")
        result.append(port)
    return result


def _recipients(actor: Any, users) -> list[User]:
    result = []
    for user in dict.fromkeys(users or []):
        if not isinstance(user, User):
            user = (
                User.objects.filter(pk=user).first()
                if is_uuid(user)
                else User.objects.filter(username=user).first()
            )
        if user is None or not sharing_viewer(user).org_ids:
            raise Invalid(
                _("a named person is unknown or cannot receive shared items"), field="recipients"
            )
        result.append(user)
    return result


def _check_sharing(
    *,
    actor: Any,
    source_org: Organisation,
    tlp: str,
    distribution: str,
    circle: Circle | None,
    recipients: list,
) -> None:
    _choice(tlp, Tlp, "tlp")
    _choice(distribution, Distribution, "distribution")
    if distribution == Distribution.CIRCLE:
        if circle is None:
            raise Invalid(_("choose the circle to share with"), field="circle")
        viewer = sharing_viewer(actor)
        if (
            not CircleMember.objects.filter(circle=circle, status=CircleMember.Status.ACTIVE)
            .filter(organisation=source_org)
            .exists()
            and not circle_ids_of(viewer).filter(circle_id=circle.pk).exists()
        ):
            raise Invalid(_("you can only share with a circle you are a member of"), field="circle")
    elif circle is not None:
        raise Invalid(_("a circle is only chosen with the distribution “a circle”"), field="circle")
    if distribution == Distribution.NAMED and not recipients:
        raise Invalid(_("name at least one person"), field="recipients")
    if tlp == Tlp.RED and not recipients:
        raise Invalid(_("TLP:RED reaches only named people: name at least one"), field="recipients")


def _index(item: Item) -> None:
    ItemSearch.objects.update_or_create(
        item=item, defaults={"language": item.language, "title": item.title, "body": item.body}
    )


@transaction.atomic
def item_create(
    *,
    actor: Any,
    kind: str,
    title: str,
    body: str = "",
    language: str = Language.EN,
    topics=(),
    ports=(),
    urgency: str = Urgency.ROUTINE,
    tlp: str = Tlp.AMBER,
    distribution: str = Distribution.ORGANISATION,
    circle: Circle | None = None,
    recipients=(),
    min_clearance: str = ClearanceLevel.NONE,
    source_org: Organisation | None = None,
    files=(),
    stix_id: str = "",
    notify: bool = True,
) -> Item:
    """Share something with the rules of DESIGN.md §4; circle members and subscribers are told."""
    source_org = _sharing_org_of(actor, Perm.SHARING_ITEM_CREATE, source_org)
    return _item_create(
        actor=actor,
        source_org=source_org,
        kind=kind,
        title=title,
        body=body,
        language=language,
        topics=topics,
        ports=ports,
        urgency=urgency,
        tlp=tlp,
        distribution=distribution,
        circle=circle,
        recipients=recipients,
        min_clearance=min_clearance,
        files=files,
        stix_id=stix_id,
        notify=notify,
    )


def _item_create(
    *,
    actor: Any,
    source_org: Organisation,
    kind: str,
    title: str,
    body: str,
    language: str,
    topics,
    ports,
    urgency: str,
    tlp: str,
    distribution: str,
    circle: Circle | None,
    recipients,
    min_clearance: str,
    files,
    stix_id: str,
    notify: bool,
) -> Item:
    """The creation itself, once the caller checked that the actor may speak for `source_org`."""
    title = (title or "").strip()
    if not title:
        raise Invalid(_("give the item a title"), field="title")
    recipient_users = _recipients(actor, recipients)
    _check_sharing(
        actor=actor,
        source_org=source_org,
        tlp=tlp,
        distribution=distribution,
        circle=circle,
        recipients=recipient_users,
    )
    _choice(min_clearance, ClearanceLevel, "min_clearance")
    if isinstance(actor, User):
        if ClearanceLevel.rank(min_clearance) > ClearanceLevel.rank(actor.effective_clearance()):
            raise Invalid(
                _("you cannot require a clearance you do not hold"), field="min_clearance"
            )
        if (tlp == Tlp.RED or distribution == Distribution.NAMED) and actor not in recipient_users:
            recipient_users.append(actor)  # the author stays among the people who may read it
    item = Item(
        source_org=source_org,
        author=actor if isinstance(actor, User) else None,
        kind=_choice(kind, Kind, "kind"),
        title=title[:200],
        body=body or "",
        language=_choice(language, Language, "language"),
        urgency=_choice(urgency, Urgency, "urgency"),
        tlp=tlp,
        distribution=distribution,
        circle=circle,
        min_clearance=_choice(min_clearance, ClearanceLevel, "min_clearance"),
        min_clearance_rank=ClearanceLevel.rank(min_clearance),
        stix_id=stix_id,
    )
    item.full_clean(exclude=["author", "circle"])
    item.save()
    item.topics.set(_topics(topics))
    item.ports.set(_ports(ports))
    item.recipients.set(recipient_users)
    stored: list[Attachment] = []
    try:
        for upload in files or ():
            stored.append(_attach(actor=actor, item=item, upload=upload))
    except Exception:
        _discard_files(stored)  # the rows roll back with the transaction; the files must go too
        raise
    _index(item)
    audit.record(
        actor,
        "sharing.item.created",
        item,
        organisation=source_org,
        details={
            "tlp": tlp,
            "distribution": distribution,
            "circle": str(circle.pk) if circle else "",
            "kind": kind,
        },
    )
    if notify:
        transaction.on_commit(lambda: notifications_fan_out(item_id=item.pk))
    return item


def _require_source(actor: Any, item: Item) -> None:
    """Only the source organisation changes (and so widens) an item: one of its own authors."""
    if item.source_org_id not in orgs_acting_for(actor, Perm.SHARING_ITEM_CREATE):
        raise Forbidden(_("only the source organisation may change this item"))


@transaction.atomic
def item_update(*, actor: Any, item: Item, **fields) -> Item:
    """Edit an item; the previous text is kept as a version. Only its source organisation may."""
    item_get(actor, item.pk)
    _require_source(actor, item)
    allowed = {
        "title",
        "body",
        "kind",
        "language",
        "topics",
        "ports",
        "urgency",
        "tlp",
        "distribution",
        "circle",
        "recipients",
        "min_clearance",
    }
    unknown = set(fields) - allowed
    if unknown:
        raise Invalid(
            _("unknown field %(field)s") % {"field": sorted(unknown)[0]}, field=sorted(unknown)[0]
        )
    ItemVersion.objects.create(
        item=item,
        version=item.version,
        title=item.title,
        body=item.body,
        edited_by=actor if isinstance(actor, User) else None,
    )
    before = {
        "tlp": item.tlp,
        "distribution": item.distribution,
        "min_clearance": item.min_clearance,
        "circle": str(item.circle_id or ""),
        "recipients": sorted(str(pk) for pk in item.recipients.values_list("pk", flat=True)),
    }
    for key in ("title", "body"):
        if key in fields:
            setattr(item, key, (fields[key] or "").strip() if key == "title" else fields[key] or "")
    if not item.title:
        raise Invalid(_("give the item a title"), field="title")
    for key, choices in (("kind", Kind), ("language", Language), ("urgency", Urgency)):
        if key in fields:
            setattr(item, key, _choice(fields[key], choices, key))
    if "min_clearance" in fields:
        item.min_clearance = _choice(fields["min_clearance"], ClearanceLevel, "min_clearance")
        item.min_clearance_rank = ClearanceLevel.rank(item.min_clearance)
        if isinstance(actor, User) and item.min_clearance_rank > ClearanceLevel.rank(
            actor.effective_clearance()
        ):
            raise Invalid(
                _("you cannot require a clearance you do not hold"), field="min_clearance"
            )
    recipients = (
        _recipients(actor, fields["recipients"])
        if "recipients" in fields
        else list(item.recipients.all())
    )
    item.tlp = fields.get("tlp", item.tlp)
    item.distribution = fields.get("distribution", item.distribution)
    item.circle = fields.get(
        "circle", item.circle if item.distribution == Distribution.CIRCLE else None
    )
    _check_sharing(
        actor=actor,
        source_org=item.source_org,
        tlp=item.tlp,
        distribution=item.distribution,
        circle=item.circle,
        recipients=recipients,
    )
    if (
        isinstance(actor, User)
        and (item.tlp == Tlp.RED or item.distribution == Distribution.NAMED)
        and actor not in recipients
    ):
        recipients.append(actor)
    item.version += 1
    item.updated_at = timezone.now()
    item.save()
    if "topics" in fields:
        item.topics.set(_topics(fields["topics"]))
    if "ports" in fields:
        item.ports.set(_ports(fields["ports"]))
    item.recipients.set(recipients)
    _index(item)
    after = {
        "tlp": item.tlp,
        "distribution": item.distribution,
        "min_clearance": item.min_clearance,
        "circle": str(item.circle_id or ""),
        "recipients": sorted(str(u.pk) for u in recipients),
    }
    audit.record(
        actor,
        "sharing.item.updated",
        item,
        organisation=item.source_org_id,
        details={"version": item.version, "before": before, "after": after},
    )
    if before != after:
        transaction.on_commit(lambda: notifications_fan_out(item_id=item.pk))
    return item


def _discard_files(attachments: list[Attachment]) -> None:
    for attachment in attachments:
        attachment.file.delete(save=False)


def _attach(*, actor: Any, item: Item, upload) -> Attachment:
    if item.attachments.count() >= attachment_rules.MAX_ATTACHMENTS:
        raise Invalid(
            _("an item holds at most %(n)s attachments") % {"n": attachment_rules.MAX_ATTACHMENTS},
            field="attachments",
        )
    name = (getattr(upload, "name", "") or "attachment").rsplit("/", 1)[-1][:200]
    attachment_rules.check_size(getattr(upload, "size", None), name)  # before reading it all
    data = upload.read() if hasattr(upload, "read") else bytes(upload)
    content_type = attachment_rules.sniff(data, name)
    attachment_rules.check_name(name, content_type)
    attachment = Attachment(
        item=item,
        filename=name,
        content_type=content_type,
        size=len(data),
        sha256=attachment_rules.digest(data),
        uploaded_by=actor if isinstance(actor, User) else None,
    )
    attachment.file.save(attachment.id.hex, ContentFile(data), save=False)
    attachment.save()
    audit.record(
        actor,
        "sharing.attachment.added",
        attachment,
        organisation=item.source_org_id,
        details={"item": str(item.pk), "type": content_type, "size": len(data)},
    )
    return attachment


@transaction.atomic
def attachment_add(*, actor: Any, item: Item, upload) -> Attachment:
    item_get(actor, item.pk)
    _require_source(actor, item)
    return _attach(actor=actor, item=item, upload=upload)


@transaction.atomic
def comment_create(*, actor: Any, item: Item, body: str) -> Comment:
    item_get(actor, item.pk)
    _require_person(actor)
    body = (body or "").strip()
    if not body:
        raise Invalid(_("write a comment first"), field="body")
    organisation = _commenting_org(actor, item)
    comment = Comment.objects.create(
        item=item,
        author=actor if isinstance(actor, User) else None,
        organisation=organisation,
        body=body[:5000],
    )
    audit.record(
        actor,
        "sharing.comment.created",
        comment,
        organisation=organisation,
        details={"item": str(item.pk)},
    )
    return comment


def _commenting_org(actor: Any, item: Item) -> Organisation:
    v = sharing_viewer(actor)
    if item.source_org_id in v.org_ids:
        return item.source_org
    if not v.org_ids:
        raise Forbidden(_("you are not allowed to do this"))
    return Organisation.objects.filter(pk__in=v.org_ids).order_by("name").first()


@transaction.atomic
def sighting_create(*, actor: Any, item: Item, anonymous: bool = False, note: str = "") -> Sighting:
    """'We saw this too' — one per organisation; optionally without naming the organisation."""
    item_get(actor, item.pk)
    _require_person(actor)
    organisation = _commenting_org(actor, item)
    try:
        with transaction.atomic():
            sighting = Sighting.objects.create(
                item=item,
                organisation=organisation,
                reported_by=actor if isinstance(actor, User) else None,
                anonymous=bool(anonymous),
                note=(note or "").strip()[:500],
            )
    except IntegrityError as exc:
        raise Conflict(_("your organisation already reported a sighting of this item")) from exc
    audit.record(
        actor,
        "sharing.sighting.created",
        sighting,
        organisation=organisation,
        details={"item": str(item.pk), "anonymous": bool(anonymous)},
    )
    return sighting


@transaction.atomic
def widening_request_create(*, actor: Any, item: Item, message: str) -> WideningRequest:
    """Ask the source organisation to share an item more widely (only it may widen)."""
    item_get(actor, item.pk)
    _require_person(actor)
    organisation = _commenting_org(actor, item)
    if organisation.pk == item.source_org_id:
        raise Conflict(_("your organisation is the source: change the distribution yourself"))
    message = (message or "").strip()
    if not message:
        raise Invalid(_("say why the item should reach more people"), field="message")
    request = WideningRequest.objects.create(
        item=item,
        requested_by=actor if isinstance(actor, User) else None,
        organisation=organisation,
        message=message[:2000],
    )
    audit.record(
        actor,
        "sharing.widening.requested",
        request,
        organisation=item.source_org_id,
        details={"item": str(item.pk), "by": str(organisation.pk)},
    )
    for user in _authors_of(item.source_org_id):
        if item_visible_to(user, item):
            Notification.objects.get_or_create(user=user, item=item, reason="widening_request")
    return request


@transaction.atomic
def widening_request_decide(
    *, actor: Any, request: WideningRequest, grant: bool
) -> WideningRequest:
    _require_source(actor, request.item)
    if request.status != WideningRequest.Status.OPEN:
        raise Conflict(_("this request was already answered"))
    request.status = WideningRequest.Status.GRANTED if grant else WideningRequest.Status.DECLINED
    request.save(update_fields=["status"])
    audit.record(
        actor,
        "sharing.widening.decided",
        request,
        organisation=request.item.source_org_id,
        details={"granted": grant},
    )
    return request


def _authors_of(organisation_id) -> list[User]:
    users = User.objects.filter(
        memberships__organisation_id=organisation_id, is_active=True
    ).distinct()
    return [u for u in users if Perm.SHARING_ITEM_CREATE in u.perms_in(organisation_id)]


# Circles ----------------------------------------------------------------------------------------


def _require_owner(actor: Any, circle: Circle) -> None:
    from .selectors import circle_owner

    if not circle_owner(actor, circle):
        raise Forbidden(_("only the circle's owners may do this"))


@transaction.atomic
def circle_create(
    *, actor: Any, name: str, description: str = "", organisation: Organisation | None = None
) -> Circle:
    """Start a closed circle; the creating organisation is its first member and owner."""
    organisation = _sharing_org_of(actor, Perm.SHARING_CIRCLE_CREATE, organisation)
    name = (name or "").strip()
    if not name:
        raise Invalid(_("give the circle a name"), field="name")
    if Circle.objects.filter(name__iexact=name).exists():
        raise Conflict(_("a circle with this name exists"), field="name")
    circle = Circle.objects.create(name=name[:120], description=(description or "").strip())
    CircleMember.objects.create(
        circle=circle,
        organisation=organisation,
        status=CircleMember.Status.ACTIVE,
        is_owner=True,
        invited_by=actor if isinstance(actor, User) else None,
    )
    audit.record(actor, "sharing.circle.created", circle, organisation=organisation)
    return circle


@transaction.atomic
def circle_invite(
    *,
    actor: Any,
    circle: Circle,
    organisation: Organisation | None = None,
    user: User | None = None,
) -> CircleMember:
    """Owners extend a circle by inviting an organisation or a person; they accept or decline."""
    _require_owner(actor, circle)
    if (organisation is None) == (user is None):
        raise Invalid(_("invite either an organisation or a person"), field="organisation")
    if user is not None and not sharing_viewer(user).org_ids:
        raise Invalid(_("this person cannot receive shared items"), field="user")
    existing = CircleMember.objects.filter(
        circle=circle, organisation=organisation, user=user
    ).first()
    if existing and existing.status in {CircleMember.Status.ACTIVE, CircleMember.Status.INVITED}:
        raise Conflict(
            _("already a member or invited"), field="organisation" if organisation else "user"
        )
    member = existing or CircleMember(circle=circle, organisation=organisation, user=user)
    member.status = CircleMember.Status.INVITED
    member.invited_by = actor if isinstance(actor, User) else None
    member.save()
    audit.record(
        actor,
        "sharing.circle.invited",
        member,
        organisation=organisation.pk if organisation else None,
        details={"circle": str(circle.pk), "user": user.username if user else ""},
    )
    return member


def _require_member_self(actor: Any, member: CircleMember) -> None:
    v = sharing_viewer(actor)
    if member.user_id is not None and member.user_id == v.user_id:
        return
    if member.organisation_id is not None:
        require(actor, Perm.SHARING_CIRCLE_CREATE, on=member.organisation_id)
        return
    raise NotFound(_("invitation not found"))


@transaction.atomic
def circle_respond(*, actor: Any, member: CircleMember, accept: bool) -> CircleMember:
    _require_member_self(actor, member)
    if member.status != CircleMember.Status.INVITED:
        raise Conflict(_("there is no open invitation"))
    member.status = CircleMember.Status.ACTIVE if accept else CircleMember.Status.DECLINED
    member.save(update_fields=["status"])
    forget_viewer(actor)
    audit.record(
        actor,
        "sharing.circle.accepted" if accept else "sharing.circle.declined",
        member,
        organisation=member.organisation_id,
        details={"circle": str(member.circle_id)},
    )
    return member


@transaction.atomic
def circle_leave(*, actor: Any, member: CircleMember) -> CircleMember:
    _require_member_self(actor, member)
    if member.status != CircleMember.Status.ACTIVE:
        raise Conflict(_("not a member"))
    if (
        member.is_owner
        and not CircleMember.objects.filter(
            circle=member.circle, is_owner=True, status=CircleMember.Status.ACTIVE
        )
        .exclude(pk=member.pk)
        .exists()
    ):
        raise Conflict(_("the last owner cannot leave; make another member owner first"))
    member.status, member.is_owner = CircleMember.Status.LEFT, False
    member.save(update_fields=["status", "is_owner"])
    forget_viewer(actor)
    audit.record(
        actor,
        "sharing.circle.left",
        member,
        organisation=member.organisation_id,
        details={"circle": str(member.circle_id)},
    )
    return member


@transaction.atomic
def circle_owner_set(*, actor: Any, member: CircleMember, owner: bool) -> CircleMember:
    _require_owner(actor, member.circle)
    if member.status != CircleMember.Status.ACTIVE:
        raise Conflict(_("only active members can be owners"))
    if (
        not owner
        and not CircleMember.objects.filter(
            circle=member.circle, is_owner=True, status=CircleMember.Status.ACTIVE
        )
        .exclude(pk=member.pk)
        .exists()
    ):
        raise Conflict(_("a circle keeps at least one owner"))
    member.is_owner = owner
    member.save(update_fields=["is_owner"])
    audit.record(
        actor,
        "sharing.circle.owner_set",
        member,
        organisation=member.organisation_id,
        details={"owner": owner, "circle": str(member.circle_id)},
    )
    return member


# Notifications ----------------------------------------------------------------------------------


@transaction.atomic
def subscription_set(
    *,
    actor: User,
    topics=(),
    ports=(),
    circles=(),
    min_urgency: str = Urgency.ROUTINE,
    email: str = Subscription.Email.URGENT,
) -> Subscription:
    from .selectors import circles_visible_to

    subscription, _created = Subscription.objects.get_or_create(user=actor)
    subscription.min_urgency = _choice(min_urgency, Urgency, "min_urgency")
    subscription.email = _choice(email, Subscription.Email, "email")
    subscription.save()
    subscription.topics.set(_topics(topics))
    subscription.ports.set(_ports(ports))
    allowed = set(circles_visible_to(actor).values_list("pk", flat=True))
    chosen = [c for c in circles or () if (c.pk if isinstance(c, Circle) else c) in allowed]
    subscription.circles.set(chosen)
    audit.record(actor, "sharing.subscription.set", subscription, organisation=None)
    return subscription


def _candidates(item: Item) -> set:
    """Users who might have to hear about an item: named people, circle members, subscribers."""
    reasons: dict = {}
    for user_id in item.recipients.values_list("pk", flat=True):
        reasons.setdefault(user_id, "named")
    if item.circle_id:
        members = CircleMember.objects.filter(
            circle_id=item.circle_id, status=CircleMember.Status.ACTIVE
        )
        for member in members:
            if member.user_id:
                reasons.setdefault(member.user_id, "circle")
            else:
                for user_id in User.objects.filter(
                    memberships__organisation_id=member.organisation_id
                ).values_list("pk", flat=True):
                    reasons.setdefault(user_id, "circle")
    topic_ids = list(item.topics.values_list("pk", flat=True))
    port_ids = list(item.ports.values_list("pk", flat=True))
    for sub in Subscription.objects.prefetch_related("topics", "ports", "circles"):
        if Urgency.rank(item.urgency) < Urgency.rank(sub.min_urgency):
            continue
        topics_ok = not sub.topics.all() or any(t.pk in topic_ids for t in sub.topics.all())
        ports_ok = not sub.ports.all() or any(p.pk in port_ids for p in sub.ports.all())
        circles_ok = not sub.circles.all() or any(c.pk == item.circle_id for c in sub.circles.all())
        if topics_ok and ports_ok and circles_ok:
            reasons.setdefault(sub.user_id, "subscription")
    return reasons


def notifications_fan_out(*, item_id) -> int:
    """Tell everyone who should hear about an item — never anyone who may not see it."""
    item = Item.objects.filter(pk=item_id).first()
    if item is None:
        return 0
    sent = 0
    for user_id, reason in _candidates(item).items():
        if user_id == item.author_id:
            continue
        user = User.objects.filter(pk=user_id, is_active=True).first()
        if user is None or not item_visible_to(user, item):
            continue
        notification, created = Notification.objects.get_or_create(
            user=user, item=item, reason=reason
        )
        if not created:
            continue
        sent += 1
        subscription = Subscription.objects.filter(user=user).first()
        mode = subscription.email if subscription else Subscription.Email.URGENT
        immediate = item.urgency == Urgency.URGENT  # everything else waits for the digest
        if immediate and user.email and mode != Subscription.Email.OFF:
            _email_now(user, [notification])
    return sent


def _email_now(user: User, notifications: list[Notification]) -> None:
    """E-mail carries the title and a link; TLP:RED and AMBER+STRICT items carry only a link."""
    lines = []
    for n in notifications:
        title = (
            n.item.title
            if n.item.tlp not in {Tlp.RED, Tlp.AMBER_STRICT}
            else _("(restricted item — open the platform to read it)")
        )
        lines.append(f"[TLP:{n.item.tlp.upper()}] {title}\n/sharing/items/{n.item.pk}/")
    try:
        send_mail(
            subject=_("Port 2 Port: %(n)s new shared item(s)") % {"n": len(notifications)},
            message="\n\n".join(lines),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[user.email],
        )
    except Exception:  # a mail server outage must not lose the in-app notification
        log.exception("sending a sharing notification failed")
        return
    Notification.objects.filter(pk__in=[n.pk for n in notifications]).update(
        emailed_at=timezone.now()
    )


def digest_send(*, now=None) -> int:
    """Daily digest of not yet e-mailed notifications, for users who chose it (re-checked)."""
    now = now or timezone.now()
    sent = 0
    for subscription in Subscription.objects.filter(email=Subscription.Email.DIGEST).select_related(
        "user"
    ):
        user = subscription.user
        pending = [
            n
            for n in Notification.objects.filter(user=user, emailed_at__isnull=True).select_related(
                "item"
            )
            if item_visible_to(user, n.item)
        ]
        if pending and user.email:
            _email_now(user, pending)
            sent += 1
        subscription.digest_sent_at = now
        subscription.save(update_fields=["digest_sent_at"])
    return sent


@transaction.atomic
def notifications_mark_read(*, actor: User, notification_ids=None) -> int:
    qs = Notification.objects.filter(user=actor, read_at__isnull=True)
    if notification_ids is not None:
        qs = qs.filter(pk__in=notification_ids)
    return qs.update(read_at=timezone.now())


# Interop: STIX 2.1 and MISP ---------------------------------------------------------------------


class ImportReport:
    def __init__(self):
        self.items: list[Item] = []
        self.indicators = 0
        self.skipped: list = []
        self.tightened: list[str] = []

    def as_dict(self) -> dict:
        return {
            "items": [{"id": str(i.pk), "title": i.title, "tlp": i.tlp} for i in self.items],
            "indicators": self.indicators,
            "skipped": [{"ref": s.ref, "reason": s.reason} for s in self.skipped],
            "notes": self.tightened,
        }


def _parse(fmt: str, data):
    from .adapters import AdapterError

    try:
        if fmt == "stix":
            from .adapters.stix import parse_bundle

            return parse_bundle(data)
        if fmt == "misp":
            from .adapters.misp import parse_event

            return parse_event(data)
    except AdapterError as exc:
        raise Invalid(str(exc), field="file") from exc
    raise Invalid(
        _("unknown format “%(format)s”: use stix or misp") % {"format": fmt}, field="format"
    )


@transaction.atomic
def items_import(
    *,
    actor: Any,
    fmt: str,
    data,
    tlp: str | None = None,
    distribution: str = Distribution.PLATFORM,
    circle: Circle | None = None,
    source_org: Organisation | None = None,
) -> ImportReport:
    """Import a STIX bundle or a MISP event as items. All or nothing; skipped objects are listed.

    The TLP chosen here can make an item stricter than its file's marking, never looser.
    """
    source_org = _sharing_org_of(actor, Perm.SHARING_ITEM_IMPORT, source_org)
    if tlp:
        _choice(tlp, Tlp, "tlp")
    parsed = _parse(fmt, data)
    report = ImportReport()
    report.skipped = list(parsed.skipped)
    if not parsed.items:
        raise Invalid(_("the file holds nothing that can be imported"), field="file")
    for entry in parsed.items:
        marked = entry.tlp or Tlp.AMBER
        chosen = tlp or marked
        final = chosen if Tlp.rank(chosen) >= Tlp.rank(marked) else marked
        if tlp and final != tlp:
            report.tightened.append(
                _("“%(title)s” stays %(marked)s as marked in the file")
                % {"title": entry.title, "marked": marked.upper()}
            )
        item = _item_create(
            actor=actor,
            source_org=source_org,
            kind=entry.kind,
            title=entry.title or _("Imported item"),
            body=entry.body,
            topics=["cyber"] if entry.kind == Kind.CYBER_INDICATORS else [],
            tlp=final,
            distribution=distribution,
            circle=circle,
            stix_id=entry.stix_id,
            language="en",
            ports=(),
            urgency=Urgency.ROUTINE,
            recipients=(),
            min_clearance=ClearanceLevel.NONE,
            files=(),
            notify=True,
        )
        Indicator.objects.bulk_create(
            [
                Indicator(
                    item=item,
                    stix_id=i.stix_id,
                    name=i.name[:300],
                    pattern=i.pattern,
                    pattern_type=i.pattern_type[:30],
                    value_type=i.value_type[:60],
                    value=i.value,
                    description=i.description,
                    valid_from=i.valid_from,
                )
                for i in entry.indicators
            ],
            batch_size=2000,
        )
        report.items.append(item)
        report.indicators += len(entry.indicators)
    audit.record(
        actor,
        "sharing.import",
        organisation=source_org,
        details={
            "format": fmt,
            "items": len(report.items),
            "indicators": report.indicators,
            "skipped": len(report.skipped),
        },
    )
    return report


def items_export_stix(*, actor: Any) -> dict:
    """What the actor may see, as a STIX 2.1 bundle. TLP:RED stays on the platform: it is for the
    named people only, so it is never written to a file."""
    from .adapters import ExportIndicator, ExportItem
    from .adapters.stix import build_bundle
    from .selectors import items_visible_to

    require_any(actor, Perm.SHARING_ITEM_EXPORT)
    items = (
        items_visible_to(actor)
        .exclude(tlp=Tlp.RED)
        .select_related("source_org")
        .prefetch_related("indicators")
    )
    export = []
    for item in items.order_by("created_at"):
        export.append(
            ExportItem(
                stix_id=item.stix_id if item.stix_id.startswith(("report--", "note--")) else "",
                kind=item.kind,
                title=item.title,
                body=item.body,
                tlp=item.tlp,
                created=item.created_at,
                modified=item.updated_at,
                source_name=item.source_org.name,
                indicators=[
                    ExportIndicator(
                        stix_id=i.stix_id if i.stix_id.startswith("indicator--") else "",
                        name=i.name,
                        pattern=i.pattern,
                        pattern_type=i.pattern_type or "stix",
                        description=i.description or i.value,
                        valid_from=i.valid_from,
                    )
                    for i in item.indicators.all()
                    if i.pattern
                ],
            )
        )
    bundle = build_bundle(export, identity_name="Port 2 Port Security Platform")
    org_ids = sorted(sharing_viewer(actor).org_ids, key=str)
    audit.record(
        actor,
        "sharing.export",
        organisation=org_ids[0] if org_ids else None,
        details={"format": "stix", "items": len(export)},
    )
    return bundle


def require_any(actor: Any, perm: Perm) -> None:
    from port2port.core.visibility import reach

    if not reach(actor, perm):
        raise Forbidden(_("you are not allowed to do this"))
