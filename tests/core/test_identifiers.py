import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from port2port.core.identifiers import normalise_eori, normalise_locode, normalise_vat


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("BEANR", "BEANR"),
        ("be anr", "BEANR"),
        ("BE-ZEE", "BEZEE"),
        ("BELGG", "BELGG"),
        ("NLRTM", "NLRTM"),
    ],
)
def test_locode_accepts_and_normalises(raw, expected):
    assert normalise_locode(raw) == expected


@pytest.mark.parametrize("raw", ["", "BE", "BEANRX", "B1ANR", "BEAN1", "BEAN0", "12345"])
def test_locode_rejects_with_a_message(raw):
    with pytest.raises(ValidationError) as info:
        normalise_locode(raw)
    assert "UN/LOCODE" in str(info.value)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("BE0123456749", "BE0123456749"),
        ("be 0123.456.749", "BE0123456749"),
        ("NL123456789B01", "NL123456789B01"),
        ("DE123456789", "DE123456789"),
        ("FRXX123456789", "FRXX123456789"),
    ],
)
def test_vat_accepts(raw, expected):
    assert normalise_vat(raw) == expected


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("BE0123456748", "check digits"),
        ("BE123", "format"),
        ("XX0123456749", "country code"),
        ("NL123456789", "format"),
        ("", "country code"),
    ],
)
def test_vat_rejects_naming_the_problem(raw, problem):
    with pytest.raises(ValidationError) as info:
        normalise_vat(raw)
    assert problem in str(info.value)


def test_eori():
    assert normalise_eori("BE0123456749") == "BE0123456749"
    assert normalise_eori("nl 812345678") == "NL812345678"
    with pytest.raises(ValidationError, match="Belgian EORI"):
        normalise_eori("BE0123456700")
    with pytest.raises(ValidationError, match="not an EORI"):
        normalise_eori("B3-?")


@given(st.text(max_size=40))
def test_every_input_gives_a_value_or_a_clear_error(text):
    """Fuzz: no identifier parser crashes; each answers a canonical value or a ValidationError."""
    for normalise in (normalise_locode, normalise_vat, normalise_eori):
        try:
            value = normalise(text)
        except ValidationError as error:
            assert error.messages and error.messages[0]
        else:
            assert value == normalise(value)  # canonical forms are fixed points


def test_a_letter_among_the_check_digits_is_a_clear_error():
    """Found by the fuzz test above: BE000000000A used to raise a ValueError."""
    from django.core.exceptions import ValidationError

    from port2port.core.identifiers import normalise_eori, normalise_vat

    for parse in (normalise_vat, normalise_eori):
        with pytest.raises(ValidationError):
            parse("BE000000000A")
