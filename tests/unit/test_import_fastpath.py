"""The import's fast phone path gives exactly the verdicts of ``normalise_many``."""

from __future__ import annotations

import random

from outbound.contacts.phones import PhoneError, normalise_many
from outbound.imports.reader import Record, RowError
from outbound.imports.rows import ContactRow, phone_verdicts, validate

ODD = [
    "",
    " ",
    "+",
    "5",
    "41",
    "+1 415 555 0100",
    " 4155550100",
    "4155550100 ",
    "415\n5550100",
    "(415) 555-0100",
    "+44 20 7946 0958",
    "0044 20 7946 0958",
    "011 44 20 7946 0958",
    "tel 4155550100",
    "4155550100 x12",
    "415-555-0100 ext. 7",
    "+1-415-555-0100",
    "\u0663\u0663\u0663",
    "\uff14\uff11\uff15",
    "a",
    "+(415)",
    "1-800-FLOWERS",
    "++14155550100",
    "\t4155550100",
    "415/555.0100",
    "0000000000",
    "+999 123 4567",
    "4155550100,4155550101",
]


def _plain(verdicts: list[str | PhoneError]) -> list[str]:
    return [v if isinstance(v, str) else f"error: {v.reason}" for v in verdicts]


def test_fast_path_agrees_with_normalise_many_on_odd_values() -> None:
    for region in ("US", "GB", "DE"):
        expected = _plain(normalise_many(ODD, default_region=region))
        assert _plain(phone_verdicts(ODD, default_region=region)) == expected


def test_fast_path_agrees_on_random_digit_strings_with_separators() -> None:
    rng = random.Random(7)
    values = []
    for _ in range(3000):
        digits = "".join(rng.choices("0123456789", k=rng.randint(3, 14)))
        cut = rng.randrange(len(digits))
        sep = rng.choice(["", " ", "-", ".", "(", ")", "/"])
        values.append(rng.choice(["", "+", "00"]) + digits[:cut] + sep + digits[cut:])
    expected = _plain(normalise_many(values, default_region="US"))
    assert _plain(phone_verdicts(values, default_region="US")) == expected


def test_validate_names_the_first_bad_phone_and_keeps_order() -> None:
    records = [
        Record(2, {"phone1": "(415) 555-0100", "phone3": "+44 20 7946 0958", "param2": "x"}),
        Record(3, {"param1": "a", "phone1": "4155550101", "phone2": "n/a", "phone4": "12"}),
        Record(4, {"phone1": "415.555.0102", "crm_contact_id": "C-9"}),
    ]
    first, second, third = validate(records, default_region="US")
    assert isinstance(first, ContactRow)
    assert first.e164 == ("+14155550100", None, "+442079460958", None, None)
    assert first.phones[2] == "+44 20 7946 0958" and first.params[1] == "x"
    assert isinstance(second, RowError)
    assert (second.line, second.column) == (3, "phone2")
    assert second.reason.startswith("phone2: not a phone number")
    assert second.raw == "a,4155550101,n/a,12"
    assert isinstance(third, ContactRow) and third.crm_contact_id == "C-9"
    assert third.phone1 == "+14155550102"
