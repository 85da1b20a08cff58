"""Outside identifiers (DESIGN.md §5): normalise, then validate, with a message naming the problem.

Each `normalise_*` returns the canonical form or raises `django.core.exceptions.ValidationError`,
so the same function serves model fields, forms and the API.
"""

from __future__ import annotations

import re
import uuid

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_SEPARATORS = re.compile(r"[\s.\-/]")
_LOCODE = re.compile(r"^[A-Z]{2}[A-Z2-9]{3}$")
_EU_VAT = {
    "AT": r"U\d{8}",
    "BE": r"[01]\d{9}",
    "BG": r"\d{9,10}",
    "CY": r"\d{8}[A-Z]",
    "CZ": r"\d{8,10}",
    "DE": r"\d{9}",
    "DK": r"\d{8}",
    "EE": r"\d{9}",
    "EL": r"\d{9}",
    "ES": r"[A-Z0-9]\d{7}[A-Z0-9]",
    "FI": r"\d{8}",
    "FR": r"[A-HJ-NP-Z0-9]{2}\d{9}",
    "HR": r"\d{11}",
    "HU": r"\d{8}",
    "IE": r"\d[A-Z0-9+*]\d{5}[A-Z]{1,2}",
    "IT": r"\d{11}",
    "LT": r"(\d{9}|\d{12})",
    "LU": r"\d{8}",
    "LV": r"\d{11}",
    "MT": r"\d{8}",
    "NL": r"\d{9}B\d{2}",
    "PL": r"\d{10}",
    "PT": r"\d{9}",
    "RO": r"\d{2,10}",
    "SE": r"\d{12}",
    "SI": r"\d{8}",
    "SK": r"\d{10}",
    "XI": r"(\d{9}|\d{12}|GD\d{3}|HA\d{3})",
}
_EORI = re.compile(r"^[A-Z]{2}[A-Z0-9]{1,15}$")


def is_uuid(value) -> bool:
    """Whether `value` reads as a UUID (public identifiers are UUIDs, DESIGN.md §3)."""
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _compact(value: str) -> str:
    return _SEPARATORS.sub("", str(value or "")).upper()


def normalise_locode(value: str) -> str:
    """UN/LOCODE: two-letter country code and three letters or digits 2-9 (e.g. BEANR)."""
    code = _compact(value)
    if not _LOCODE.match(code):
        raise ValidationError(
            _(
                "“%(value)s” is not a UN/LOCODE: expected a country code and three characters, e.g. BEANR."
            ),
            code="locode",
            params={"value": value},
        )
    return code


def _belgian_enterprise_number_ok(digits: str) -> bool:
    """Belgian enterprise/VAT number: 10 digits, the last two are 97 - (first eight mod 97)."""
    if len(digits) != 10 or not digits.isascii() or not digits.isdigit():
        return False
    return 97 - int(digits[:8]) % 97 == int(digits[8:])


def normalise_vat(value: str) -> str:
    """EU VAT number with its country prefix; Belgian numbers are checked to the check digits."""
    vat = _compact(value)
    country, rest = vat[:2], vat[2:]
    pattern = _EU_VAT.get(country)
    if pattern is None:
        raise ValidationError(
            _(
                "“%(value)s” is not a VAT number: it must start with an EU country code, e.g. BE0123456749."
            ),
            code="vat_country",
            params={"value": value},
        )
    if not re.fullmatch(pattern, rest):
        raise ValidationError(
            _("“%(value)s” does not have the format of a %(country)s VAT number."),
            code="vat_format",
            params={"value": value, "country": country},
        )
    if country == "BE" and not _belgian_enterprise_number_ok(rest):
        raise ValidationError(
            _("“%(value)s” has wrong check digits for a Belgian VAT number."),
            code="vat_checksum",
            params={"value": value},
        )
    return vat


def normalise_eori(value: str) -> str:
    """EORI: country code and up to 15 characters; a Belgian EORI is BE + the enterprise number."""
    eori = _compact(value)
    if not _EORI.match(eori):
        raise ValidationError(
            _("“%(value)s” is not an EORI number: a country code and up to 15 letters or digits."),
            code="eori_format",
            params={"value": value},
        )
    if eori.startswith("BE") and not _belgian_enterprise_number_ok(eori[2:]):
        raise ValidationError(
            _(
                "“%(value)s” is not a Belgian EORI number: BE followed by a valid enterprise number."
            ),
            code="eori_checksum",
            params={"value": value},
        )
    return eori
