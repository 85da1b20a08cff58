"""CSV onboarding (people, badges, bans, verifications) with a dry run and a report per line.

Nothing of a file is stored while any line is wrong, unless the operator asks on purpose to store
the valid lines (`valid_only`). Each stored line goes through the same service as a form would.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from port2port.core import services as core_services
from port2port.core.errors import AppError, Invalid
from port2port.core.models import Organisation, Person

from . import services
from .identifiers import normalise_national_number
from .models import Badge, Identity, Verification

COLUMNS = {
    "people": (
        ["organisation", "given_name", "family_name"],
        ["birth_date", "nationality", "national_number", "email", "job_title"],
    ),
    "badges": (["national_number", "number"], ["kind", "valid_until"]),
    "bans": (["national_number", "starts_on", "ends_on", "source"], []),
    "verifications": (["national_number", "category", "status"], ["decided_on"]),
}


@dataclass
class Line:
    number: int
    ok: bool
    message: str


@dataclass
class CsvReport:
    kind: str
    lines: list[Line] = field(default_factory=list)
    stored: int = 0
    dry_run: bool = False

    @property
    def errors(self) -> list[Line]:
        return [line for line in self.lines if not line.ok]


class _LineError(Exception):
    pass


def _date(row: dict, key: str, required: bool = False) -> date | None:
    value = (row.get(key) or "").strip()
    if not value:
        if required:
            raise _LineError(_("%(column)s is empty") % {"column": key})
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise _LineError(
            _("%(column)s “%(value)s” is not a date (YYYY-MM-DD)") % {"column": key, "value": value}
        ) from exc


def _person_by_number(row: dict) -> Person:
    try:
        number = normalise_national_number(row.get("national_number", ""))
    except ValidationError as exc:
        raise _LineError(exc.messages[0]) from exc
    identity = Identity.objects.select_related("person").filter(national_number=number).first()
    if identity is None:
        raise _LineError(_("no person with national number %(number)s") % {"number": number})
    return identity.person


def _check(kind: str, row: dict, seen: set) -> dict:
    """Validate one line without writing; returns what the store step needs."""
    if kind == "people":
        name = (row.get("organisation") or "").strip()
        organisation = (
            Organisation.objects.filter(name=name).first()
            or Organisation.objects.filter(short_name=name).first()
        )
        if organisation is None:
            raise _LineError(_("unknown organisation “%(name)s”") % {"name": name})
        if not (row.get("given_name") or "").strip() or not (row.get("family_name") or "").strip():
            raise _LineError(_("given_name and family_name are required"))
        number = None
        if (row.get("national_number") or "").strip():
            try:
                number = normalise_national_number(row["national_number"])
            except ValidationError as exc:
                raise _LineError(exc.messages[0]) from exc
            if number in seen or Identity.objects.filter(national_number=number).exists():
                raise _LineError(
                    _("national number %(number)s is already registered") % {"number": number}
                )
            seen.add(number)
        nationality = (row.get("nationality") or "").strip().upper()
        if nationality and (len(nationality) != 2 or not nationality.isalpha()):
            raise _LineError(
                _("nationality “%(value)s” is not a two-letter country code")
                % {"value": nationality}
            )
        return {
            "organisation": organisation,
            "number": number,
            "birth_date": _date(row, "birth_date"),
            "nationality": nationality,
        }
    person = _person_by_number(row)
    if kind == "badges":
        number = (row.get("number") or "").strip().upper()
        if not number or number in seen or Badge.objects.filter(number=number).exists():
            raise _LineError(
                _("badge number “%(value)s” is empty or already issued") % {"value": number}
            )
        seen.add(number)
        kind_value = (row.get("kind") or Badge.Kind.ALFAPASS).strip()
        if kind_value not in Badge.Kind.values:
            raise _LineError(_("“%(value)s” is not a badge kind") % {"value": kind_value})
        return {
            "person": person,
            "number": number,
            "kind": kind_value,
            "valid_until": _date(row, "valid_until"),
        }
    if kind == "bans":
        starts, ends = _date(row, "starts_on", True), _date(row, "ends_on", True)
        if ends < starts:
            raise _LineError(_("a ban ends after it starts"))
        key = (person.pk, starts, ends)
        if key in seen:
            raise _LineError(_("the same ban twice in this file"))
        seen.add(key)
        return {
            "person": person,
            "starts_on": starts,
            "ends_on": ends,
            "source": (row.get("source") or "").strip(),
        }
    status = (row.get("status") or "").strip()
    if status not in Verification.Status.values:
        raise _LineError(_("“%(value)s” is not a verification status") % {"value": status})
    return {
        "person": person,
        "category": (row.get("category") or "").strip(),
        "status": status,
        "decided_on": _date(row, "decided_on"),
    }


def _store(kind: str, actor: Any, data: dict) -> None:
    if kind == "people":
        person = core_services.person_create(
            actor=actor,
            organisation=data["organisation"],
            given_name=data["row"]["given_name"],
            family_name=data["row"]["family_name"],
            email=data["row"].get("email", ""),
            job_title=data["row"].get("job_title", ""),
        )
        Identity.objects.create(
            person=person,
            birth_date=data["birth_date"],
            nationality=data["nationality"],
            national_number=data["number"],
        )
    elif kind == "badges":
        services.badge_issue(
            actor=actor,
            person=data["person"],
            number=data["number"],
            kind=data["kind"],
            valid_until=data["valid_until"],
        )
    elif kind == "bans":
        services.ban_register(
            actor=actor,
            person=data["person"],
            starts_on=data["starts_on"],
            ends_on=data["ends_on"],
            source=data["source"],
        )
    else:
        services.verification_record(
            actor=actor,
            person=data["person"],
            category=data["category"],
            status=data["status"],
            decided_on=data["decided_on"],
        )


def csv_import(
    *, actor: Any, kind: str, text: str, dry_run: bool = False, valid_only: bool = False
) -> CsvReport:
    if kind not in COLUMNS:
        raise Invalid(
            _("unknown import “%(kind)s”: people, badges, bans or verifications") % {"kind": kind},
            field="kind",
        )
    required, optional = COLUMNS[kind]
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    headers = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in required if c not in headers]
    unknown = [h for h in headers if h not in required + optional]
    if missing or unknown:
        problem = (
            _("missing columns: %(columns)s") % {"columns": ", ".join(missing)}
            if missing
            else _("unknown columns: %(columns)s") % {"columns": ", ".join(unknown)}
        )
        raise Invalid(problem, field="file")
    report = CsvReport(kind=kind, dry_run=dry_run)
    valid: list[tuple[int, dict]] = []
    seen: set = set()
    for number, row in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "") for k, v in row.items()}
        try:
            data = _check(kind, row, seen)
        except _LineError as exc:
            report.lines.append(Line(number, False, str(exc)))
            continue
        data["row"] = row
        valid.append((number, data))
        report.lines.append(Line(number, True, _("valid")))
    if dry_run or (report.errors and not valid_only):
        return report
    with transaction.atomic():
        for number, data in valid:
            try:
                with transaction.atomic():
                    _store(kind, actor, data)
            except AppError as exc:
                # A line that passed the check but a service refused (rights): nothing more is stored.
                raise Invalid(
                    _("line %(n)s: %(problem)s") % {"n": number, "problem": exc.message},
                    field="file",
                ) from exc
            report.stored += 1
    return report
