"""Phone number validation and normalisation to E.164. Pure: no I/O.

Every channel dials the E.164 form, so every number that enters the product (contacts,
DNC entries) passes through ``normalise``; the raw value is kept alongside for display.
The reasons are short and stable because they end up in import reports and 422 bodies.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

from outbound.contacts.fastphone import BulkPhoneValidator

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
    reason = _precheck(raw)
    if reason is not None:
        raise PhoneError(reason)
    value = raw.strip()
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


@lru_cache(maxsize=16)
def _bulk(default_region: str) -> BulkPhoneValidator:
    return BulkPhoneValidator(default_region)


def _precheck(raw: str) -> str | None:
    """The reason ``normalise`` refuses ``raw`` before asking phonenumbers, if any."""
    if len(raw) > MAX_RAW_LENGTH:
        return TOO_LONG_RAW
    value = raw.strip()
    if not value:
        return EMPTY
    if not _ALLOWED.fullmatch(value):
        return HAS_LETTERS if any(ch.isalpha() for ch in value) else BAD_CHARACTER
    if not any(ch.isdigit() for ch in value):
        return NOT_A_NUMBER
    return None


def normalise_many(raws: Sequence[str], *, default_region: str) -> list[str | PhoneError]:
    """``normalise`` for many values at once: the E.164 form, or the PhoneError, per value.

    Gives exactly the verdicts of ``normalise`` (the bulk validator matches phonenumbers
    number for number), tens of times faster; only refused values take the slow path, to
    find their reason.
    """
    checked = [(raw, _precheck(raw)) for raw in raws]
    fast = _bulk(default_region).e164_many([raw.strip() for raw, reason in checked if not reason])
    answers = iter(fast)
    out: list[str | PhoneError] = []
    for raw, reason in checked:
        if reason is not None:
            out.append(PhoneError(reason))
            continue
        e164 = next(answers)
        if e164 is not None:
            out.append(e164)
            continue
        try:
            out.append(normalise(raw, default_region=default_region))
        except PhoneError as exc:
            out.append(exc)
    return out


def search_prefix(query: str) -> str:
    """The E.164 prefix a user means when searching by the start of a number.

    ``"+44 20"`` and ``"4420"`` both mean numbers starting with ``+4420``; separators are
    ignored. Returns ``""`` when the query holds no digit.
    """
    digits = "".join(ch for ch in query if ch.isascii() and ch.isdigit())
    return f"+{digits}" if digits else ""


def search_prefixes(query: str, *, default_region: str) -> tuple[str, ...]:
    """Every E.164 prefix a user may mean by typing the start of a number, separators
    ignored; ``()`` when the query holds no digit.

    - As an international number: ``"+44 20"``, ``"4420"`` and ``"0044 20"`` all mean
      ``+4420``.
    - Unless it starts with ``+``, also as a national number of ``default_region``: its
      country code, then the digits without the region's national (trunk) prefix, so that
      in the US ``"(650) 253"`` means ``+1650253`` and in GB ``"020 79"`` means ``+442079``.
    """
    digits = "".join(ch for ch in query if ch.isascii() and ch.isdigit())
    if not digits:
        return ()
    international = digits[2:] if digits.startswith("00") and len(digits) > 2 else digits
    found = [f"+{international}"]
    code = phonenumbers.country_code_for_region(default_region)
    if code and not query.lstrip().startswith("+"):
        meta = phonenumbers.PhoneMetadata.metadata_for_region(default_region)
        trunk = meta.national_prefix if meta is not None else None
        national = digits[len(trunk) :] if trunk and digits.startswith(trunk) else digits
        found.append(f"+{code}{national}")
    return tuple(dict.fromkeys(found))


def prefix_upper_bound(prefix: str) -> str | None:
    """The smallest string of ``+`` and digits above every number starting with ``prefix``
    (``"+1419"`` -> ``"+142"``), or None when there is none (``"+99"``): ``x >= prefix AND
    x < bound`` is ``x LIKE 'prefix%'`` for E.164 values, as a range a btree index serves in
    any collation (digits sort alike in all of them)."""
    body = prefix.rstrip("9")
    if len(body) <= 1:  # only the "+" is left
        return None
    return body[:-1] + str(int(body[-1]) + 1)
