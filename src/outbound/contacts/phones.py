"""Phone number validation and normalisation to E.164. Pure: no I/O.

Every channel dials the E.164 form, so every number that enters the product (contacts,
DNC entries) passes through ``normalise``; the raw value is kept alongside for display.
The reasons are short and stable because they end up in import reports and 422 bodies.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

MAX_RAW_LENGTH = 28

EMPTY = "empty"
TOO_LONG_RAW = f"longer than {MAX_RAW_LENGTH} characters"
NOT_A_NUMBER = "not a phone number"
HAS_LETTERS = "not a phone number: it contains letters"
BAD_CHARACTER = "not a phone number: only digits, spaces, '+', '-', '.', '/' and brackets allowed"
NO_REGION = "no country code: write it as +<country code> or set a default region"
BAD_COUNTRY_CODE = "not a phone number: unknown country code"
TOO_SHORT = "too short to be a phone number"
TOO_LONG_NUMBER = "too long to be a phone number"
INVALID_FOR_REGION = "not a valid number for its region"

# Letters are refused although phonenumbers would read them as a keypad (1-800-FLOWERS):
# in contact data they far more often mean a wrong column than a vanity number.
_ALLOWED = re.compile(r"\+?[0-9 ().\-/]+")

_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: BAD_COUNTRY_CODE,
    NumberParseException.NOT_A_NUMBER: NOT_A_NUMBER,
    NumberParseException.TOO_SHORT_AFTER_IDD: TOO_SHORT,
    NumberParseException.TOO_SHORT_NSN: TOO_SHORT,
    NumberParseException.TOO_LONG: TOO_LONG_NUMBER,
}


class PhoneError(ValueError):
    """A raw value that cannot be dialled; ``reason`` says why in a few words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def normalise(raw: str, *, default_region: str) -> str:
    """The E.164 form of ``raw`` (``+16502530000``), or ``PhoneError``.

    A number without ``+`` is read in the national format of ``default_region`` (an ISO
    region code such as ``US`` or ``GB``); an international prefix such as ``00`` is also
    understood in that region's convention.
    """
    if len(raw) > MAX_RAW_LENGTH:
        raise PhoneError(TOO_LONG_RAW)
    value = raw.strip()
    if not value:
        raise PhoneError(EMPTY)
    if not _ALLOWED.fullmatch(value):
        if any(ch.isalpha() for ch in value):
            raise PhoneError(HAS_LETTERS)
        raise PhoneError(BAD_CHARACTER)
    if not any(ch.isdigit() for ch in value):
        raise PhoneError(NOT_A_NUMBER)
    try:
        parsed = phonenumbers.parse(value, default_region)
    except NumberParseException as exc:
        if exc.error_type == NumberParseException.INVALID_COUNTRY_CODE and value[0] != "+":
            raise PhoneError(NO_REGION) from None
        raise PhoneError(_PARSE_REASONS.get(exc.error_type, NOT_A_NUMBER)) from None
    if not phonenumbers.is_valid_number(parsed):
        raise PhoneError(INVALID_FOR_REGION)
    e164: str = phonenumbers.format_number(parsed, PhoneNumberFormat.E164)
    return e164


def search_prefix(query: str) -> str:
    """The E.164 prefix a user means when searching by the start of a number.

    ``"+44 20"`` and ``"4420"`` both mean numbers starting with ``+4420``; separators are
    ignored. Returns ``""`` when the query holds no digit.
    """
    digits = "".join(ch for ch in query if ch.isascii() and ch.isdigit())
    return f"+{digits}" if digits else ""
