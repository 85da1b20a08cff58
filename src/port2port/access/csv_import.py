"""CSV onboarding (people, badges, bans, verifications) with a dry run and a report per line.

Nothing of a file is stored while any line is wrong, unless the operator asks on purpose to store
the valid lines (`valid_only`). Each stored line goes through the same service as a form would.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from port2port.core import services as core_services
from port2port.core.errors import AppError, Forbidden, Invalid
from port2port.core.models import Organisation, Person
from port2port.core.roles import Perm
from port2port.core.visibility import reach

from . import services
from .identifiers import normalise_national_number, normalise_nationality
from .models import (
    AccessRight,
    Badge,
    CriminalRecordExtract,
    Identity,
    PortBan,
    Schedule,
    Verification,
)

COLUMNS = {
    "people": (
        ["organisation", "given_name", "family_name"],
        ["birth_date", "nationality", "national_number", "email", "job_title"],
    ),
    "badges": (["national_number", "number"], ["kind", "valid_until"]),
    "bans": (["national_number", "starts_on", "ends_on", "source"], []),
    "verifications": (["national_number", "category", "status"], ["decided_on"]),
    "extracts": (["national_number", "checked_on", "result"], ["note"]),
    "rights": (
        ["national_number", "port", "zone"],
        ["effect", "schedule", "valid_from", "valid_until"],
    ),
}
KINDS = tuple(COLUMNS)


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


def _person_by_number(row: dict, people) -> Person:
    """The person of a line, among the people the importer may handle (`people`)."""
    try:
        number = normalise_national_number(row.get("national_number", ""))
    except ValidationError as exc:
        raise _LineError(exc.messages[0]) from exc
    person = people.filter(identity__national_number=number).first()
    if person is None:
        raise _LineError(_("no person with national number %(number)s") % {"number": number})
    return person


# kind -> the permission an importer needs (screening registers: port authorities and police)
NEEDS = {
    "people": Perm.ACCESS_CREDENTIAL_MANAGE,
    "badges": Perm.ACCESS_CREDENTIAL_MANAGE,
    "extracts": Perm.ACCESS_CREDENTIAL_MANAGE,
    "rights": Perm.ACCESS_CREDENTIAL_MANAGE,
    "bans": Perm.ACCESS_BAN_REGISTER,
    "verifications": Perm.ACCESS_BAN_REGISTER,
}


def _people_for(actor: Any, kind: str):
    """Registrars look up anyone in the registers; employers only their own staff."""
    if kind in {"bans", "verifications"}:
        return Person.objects.all()
    result = reach(actor, Perm.ACCESS_CREDENTIAL_MANAGE)
    people = Person.objects.all()
    return people if result.everything else people.filter(organisation_id__in=result.org_ids)


def _check(kind: str, row: dict, seen: set, people=None, creatable=None) -> dict:
    """Validate one line without writing; returns what the store step needs."""
    if kind == "people":
        name = (row.get("organisation") or "").strip()
        organisation = (
            Organisation.objects.filter(name=name).first()
            or Organisation.objects.filter(short_name=name).first()
        )
        if organisation is None or (
            creatable is not None and not creatable.covers(organisation.pk)
        ):
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
        try:
            nationality = normalise_nationality(row.get("nationality", ""))
        except ValidationError as exc:
            raise _LineError(exc.messages[0]) from exc
        return {
            "organisation": organisation,
            "number": number,
            "birth_date": _date(row, "birth_date"),
            "nationality": nationality,
        }
    person = _person_by_number(row, people)
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
        earlier = [(s, e) for (pid, s, e) in seen if pid == person.pk]
        existing = PortBan.objects.filter(person=person, starts_on__lte=ends, ends_on__gte=starts)
        if existing.exists() or any(s <= ends and e >= starts for s, e in earlier):
            raise _LineError(
                _("overlapping validity: this person already has a ban in that period")
            )
        seen.add((person.pk, starts, ends))
        return {
            "person": person,
            "starts_on": starts,
            "ends_on": ends,
            "source": (row.get("source") or "").strip(),
        }
    if kind == "extracts":
        result = (row.get("result") or "").strip()
        if result not in CriminalRecordExtract.Result.values:
            raise _LineError(_("“%(value)s” is not an extract result") % {"value": result})
        return {
            "person": person,
            "checked_on": _date(row, "checked_on", True),
            "result": result,
            "note": (row.get("note") or "").strip(),
        }
    if kind == "rights":
        return _check_right(row, person)
    status = (row.get("status") or "").strip()
    if status not in Verification.Status.values:
        raise _LineError(_("“%(value)s” is not a verification status") % {"value": status})
    return {
        "person": person,
        "category": (row.get("category") or "").strip(),
        "status": status,
        "decided_on": _date(row, "decided_on"),
    }


def _datetime(row: dict, key: str) -> datetime | None:
    value = (row.get(key) or "").strip()
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise _LineError(
            _("%(column)s “%(value)s” is not a date and time (YYYY-MM-DD HH:MM)")
            % {"column": key, "value": value}
        ) from exc
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


def _check_right(row: dict, person: Person) -> dict:
    from port2port.sites.models import Zone

    port, code = (row.get("port") or "").strip().upper(), (row.get("zone") or "").strip()
    zone = Zone.objects.filter(port__locode=port, code=code).first()
    if zone is None:
        raise _LineError(
            _("unknown zone “%(zone)s” in port %(port)s") % {"zone": code, "port": port}
        )
    effect = (row.get("effect") or "grant").strip()
    if effect not in AccessRight.Effect.values:
        raise _LineError(_("“%(value)s” is not grant or deny") % {"value": effect})
    schedule = None
    if (row.get("schedule") or "").strip():
        schedule = Schedule.objects.filter(name=row["schedule"].strip()).first()
        if schedule is None:
            raise _LineError(_("unknown schedule “%(name)s”") % {"name": row["schedule"].strip()})
    valid_from, valid_until = _datetime(row, "valid_from"), _datetime(row, "valid_until")
    if valid_from and valid_until and valid_until <= valid_from:
        raise _LineError(_("the right must end after it starts"))
    return {
        "person": person,
        "zone": zone,
        "effect": effect,
        "schedule": schedule,
        "valid_from": valid_from,
        "valid_until": valid_until,
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
        services.identity_set(
            actor=actor,
            person=person,
            birth_date=data["birth_date"],
            nationality=data["nationality"],
            national_number=data["number"] or "",
        )
    elif kind == "extracts":
        services.extract_record(actor=actor, **{k: v for k, v in data.items() if k != "row"})
    elif kind == "rights":
        services.right_grant(actor=actor, **{k: v for k, v in data.items() if k != "row"})
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
            _("unknown import “%(kind)s”: %(kinds)s") % {"kind": kind, "kinds": ", ".join(KINDS)},
            field="kind",
        )
    if not reach(actor, NEEDS[kind]):
        raise Forbidden(_("your roles do not include importing %(kind)s") % {"kind": kind})
    people = _people_for(actor, kind)
    required, optional = COLUMNS[kind]
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    try:
        headers = [h.strip() for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise Invalid(
            _("the file is not readable CSV: %(error)s") % {"error": exc}, field="file"
        ) from exc
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
    rows = enumerate(reader, start=2)
    while True:
        try:
            number, row = next(rows)
        except StopIteration:
            break
        except csv.Error as exc:
            raise Invalid(
                _("line %(n)s is not readable CSV: %(error)s")
                % {"n": reader.line_num, "error": exc},
                field="file",
            ) from exc
        row = {(k or "").strip(): (v if isinstance(v, str) else "") for k, v in row.items()}
        try:
            data = _check(kind, row, seen, people, reach(actor, Perm.CORE_PERSON_CREATE))
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
