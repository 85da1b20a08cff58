"""Identifiers of people and vehicles at the gate: Belgian national register numbers, plates."""

from __future__ import annotations

import re
from datetime import date

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_PLATE_SEPARATORS = re.compile(r"[\s\-.·]")
_PLATE = re.compile(r"^[A-Z0-9]{2,10}$")


def normalise_plate(value: str) -> str:
    """A vehicle plate without case, spaces, dots or dashes: '1-abc-123' -> '1ABC123'.

    Belgian plates (1-ABC-123) and foreign ones (NL 12-ABC-3, DE B-XY 123) all reduce to 2-10
    letters and digits.
    """
    plate = _PLATE_SEPARATORS.sub("", str(value or "")).upper()
    if not _PLATE.match(plate):
        raise ValidationError(
            _("“%(value)s” is not a vehicle plate: 2 to 10 letters and digits."),
            code="plate",
            params={"value": value},
        )
    return plate


def normalise_nationality(value: str) -> str:
    """An ISO 3166 two-letter country code (upper case), or "" when none is given."""
    code = (value or "").strip().upper()
    if code and (len(code) != 2 or not code.isascii() or not code.isalpha()):
        raise ValidationError(
            _("nationality “%(value)s” is not a two-letter country code"),
            code="nationality",
            params={"value": code},
        )
    return code


def normalise_national_number(value: str) -> str:
    """Belgian national register number (YY.MM.DD-XXX.CC): 11 digits, check digits verified.

    The check is 97 - (first nine digits mod 97); for people born in 2000 or later a 2 is put
    before the nine digits. Returned as 11 digits.
    """
    digits = re.sub(r"[\s.\-]", "", str(value or ""))
    if not re.fullmatch(r"\d{11}", digits):
        raise ValidationError(
            _("“%(value)s” is not a national register number: 11 digits (YY.MM.DD-XXX.CC)."),
            code="nrn_format",
            params={"value": value},
        )
    base, check = int(digits[:9]), int(digits[9:])
    if 97 - base % 97 != check and 97 - (2_000_000_000 + base) % 97 != check:
        raise ValidationError(
            _("“%(value)s” has wrong check digits for a national register number."),
            code="nrn_checksum",
            params={"value": value},
        )
    return digits


def national_number_birth_date(number: str) -> date | None:
    """The birth date a national register number encodes, when it encodes a full one."""
    digits = normalise_national_number(number)
    base, check = int(digits[:9]), int(digits[9:])
    century = 2000 if 97 - (2_000_000_000 + base) % 97 == check else 1900
    try:
        return date(century + int(digits[:2]), int(digits[2:4]), int(digits[4:6]))
    except ValueError:
        return None  # bis numbers and unknown dates do not encode a real day
