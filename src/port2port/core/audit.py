"""The append-only, hash-chained audit log (DESIGN.md §4).

Every record carries the hash of the one before it; the head row holds the last sequence number
and hash. Editing, deleting or reordering any record breaks the chain and `verify()` names the
first record where it breaks.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from django.db import transaction
from django.utils import timezone

from .models import AuditHead, AuditRecord, Organisation
from .visibility import OrganisationActor, SystemActor, TokenPrincipal

GENESIS = "0" * 64


def _actor_fields(actor: Any) -> tuple[Any, str]:
    if actor is None or isinstance(actor, SystemActor):
        return None, "system"
    if isinstance(actor, OrganisationActor):
        return None, f"cli ({actor.organisation})"
    if isinstance(actor, TokenPrincipal):
        return None, f"token:{actor.token.prefix} ({actor.token.organisation})"
    if getattr(actor, "is_authenticated", False):
        return actor, actor.get_username()
    return None, "anonymous"


def _organisation_of(obj: Any):
    if obj is None:
        return None
    if isinstance(obj, Organisation):
        return obj.pk
    return getattr(obj, "organisation_id", None)


def _digest(record: AuditRecord) -> str:
    payload = {
        "seq": record.seq,
        "uid": str(record.uid),
        "at": record.at.astimezone(UTC).isoformat(),
        "actor": str(record.actor_id or ""),
        "actor_label": record.actor_label,
        "action": record.action,
        "object_type": record.object_type,
        "object_id": record.object_id,
        "object_repr": record.object_repr,
        "organisation": str(record.organisation_id or ""),
        "details": record.details,
        "prev_hash": record.prev_hash,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _hour(moment):
    return moment.replace(minute=0, second=0, microsecond=0)


def record(
    actor: Any,
    action: str,
    obj: Any = None,
    *,
    organisation: Any = None,
    details: dict | None = None,
    coarse: bool = False,
) -> AuditRecord:
    """Append one record. Call it inside the service's transaction so both land or neither.
    `coarse`: the hour only, for what an anonymous reporter did (nothing finer may be kept)."""
    with transaction.atomic():
        head = AuditHead.objects.select_for_update().filter(pk=1).first()
        if head is None:
            head, _ = AuditHead.objects.get_or_create(pk=1)
            head = AuditHead.objects.select_for_update().get(pk=1)
        user, label = _actor_fields(actor)
        org_id = (
            getattr(organisation, "pk", organisation) if organisation else _organisation_of(obj)
        )
        entry = AuditRecord(
            seq=head.seq + 1,
            at=_hour(timezone.now()) if coarse else timezone.now(),
            actor=user,
            actor_label=label[:200],
            action=action,
            object_type=obj._meta.label_lower if obj is not None else "",
            object_id=str(obj.pk) if obj is not None else "",
            object_repr=str(obj)[:300] if obj is not None else "",
            organisation_id=org_id,
            # A JSON round trip, so the hash is computed over exactly what the database returns.
            details=json.loads(json.dumps(details or {}, default=str)),
            prev_hash=head.hash,
        )
        entry.hash = _digest(entry)
        entry.save(force_insert=True)
        head.seq, head.hash = entry.seq, entry.hash
        head.save(update_fields=["seq", "hash"])
    return entry


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    broken_seq: int | None = None
    problem: str = ""


def verify() -> Verification:
    """Walk the chain from the first record; stop at the first that does not fit."""
    expected_seq, previous, checked = 1, GENESIS, 0
    for entry in AuditRecord.objects.order_by("seq").iterator(chunk_size=2000):
        if entry.seq != expected_seq:
            return Verification(
                False,
                checked,
                expected_seq,
                f"record #{expected_seq} is missing (next is #{entry.seq})",
            )
        if entry.prev_hash != previous:
            return Verification(
                False,
                checked,
                entry.seq,
                f"record #{entry.seq} does not follow record #{entry.seq - 1}",
            )
        if _digest(entry) != entry.hash:
            return Verification(False, checked, entry.seq, f"record #{entry.seq} was altered")
        previous, expected_seq, checked = entry.hash, expected_seq + 1, checked + 1
    head = AuditHead.objects.filter(pk=1).first()
    if head is None and checked:
        return Verification(False, checked, 1, "the head of the chain is missing")
    if head is not None and (head.seq != checked or head.hash != previous):
        return Verification(
            False,
            checked,
            checked + 1,
            f"the log ends at record #{checked} but record #{head.seq} was written",
        )
    return Verification(True, checked)
