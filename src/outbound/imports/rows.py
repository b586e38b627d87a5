"""Turn a chunk of file records into contact rows or row errors. Pure: no I/O.

Phones are validated for the whole chunk at once (the bulk validator is where the speed
is); a row is refused at its first bad phone, naming the column and the reason.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from outbound.contacts.fastphone import BulkPhoneValidator
from outbound.contacts.phones import PhoneError, normalise_many
from outbound.imports.reader import PARAM_COLUMNS, PHONE_COLUMNS, Record, RowError

# Where a value is not "plain": empty, white space at an end, a character that
# ``normalise_many``'s pre-check refuses, or no digit. Plain values pass that pre-check, so
# for them ``normalise_many`` gives what the bulk validator gives, when that is a number.
_NOT_PLAIN = re.compile(r"^(?!(?! )\+?[0-9 ().\-/]*[0-9][0-9 ().\-/]*(?<! )$)", re.MULTILINE)


@lru_cache(maxsize=16)
def _bulk(default_region: str) -> BulkPhoneValidator:
    return BulkPhoneValidator(default_region)


def _not_plain(raws: Sequence[str]) -> set[int]:
    """Indexes of the values that are not plain, found by one regex pass over all of them."""
    joined = "\n".join(raws)
    if joined.count("\n") != len(raws) - 1:  # a value holds a line break: judge one by one
        return {i for i, raw in enumerate(raws) if "\n" in raw or _NOT_PLAIN.match(raw)}
    found: set[int] = set()
    line = last = 0
    for match in _NOT_PLAIN.finditer(joined):
        line += joined.count("\n", last, match.start())
        last = match.start()
        found.add(line)
    return found


def phone_verdicts(raws: Sequence[str], *, default_region: str) -> list[str | PhoneError]:
    """Exactly ``normalise_many(raws)``, without its per-value pre-check on the usual values.

    Only values that are not plain, or that the bulk validator refuses (a few in a hundred),
    take ``normalise_many``'s own path, which finds the reason.
    """
    return checked_phones(raws, default_region=default_region)[0]


def checked_phones(
    raws: Sequence[str], *, default_region: str
) -> tuple[list[str | PhoneError], list[int]]:
    """``phone_verdicts``, and the indexes of the only values whose verdict may be an error."""
    if not raws:
        return [], []
    fast = _bulk(default_region).e164_many(raws)
    refused = [i for i, e164 in enumerate(fast) if e164 is None] if None in fast else []
    slow = sorted(_not_plain(raws).union(refused))
    out: list[str | PhoneError] = fast  # type: ignore[assignment]  # its Nones are replaced
    verdicts = normalise_many([raws[i] for i in slow], default_region=default_region)
    for i, verdict in zip(slow, verdicts, strict=True):
        out[i] = verdict
    return out, slow


@dataclass(frozen=True, slots=True)
class ContactRow:
    line: int
    phones: tuple[str | None, ...]  # raw values of Phone 1..5
    e164: tuple[str | None, ...]
    params: tuple[str | None, ...]  # Business Parameter 1..12
    crm_contact_id: str | None
    raw: str

    @property
    def phone1(self) -> str:
        first = self.e164[0]
        assert first is not None
        return first


def _raw_line(record: Record) -> str:
    return record.raw or ",".join(record.values.values())[:500]


def validate(records: Sequence[Record], *, default_region: str) -> list[ContactRow | RowError]:
    """Each record's contact row, or the error of its first bad phone, in order.

    Written for speed (it runs once per row of every import): the phones of the whole chunk
    go to ``normalise_many`` in one list, and each record takes its verdicts back in order.
    """
    phones = [tuple(map(record.values.get, PHONE_COLUMNS)) for record in records]
    verdicts = phone_verdicts(
        [raw for row in phones for raw in row if raw is not None], default_region=default_region
    )
    answers = iter(verdicts)
    out: list[ContactRow | RowError] = []
    for record, raws in zip(records, phones, strict=True):
        e164: list[str | None] = [None] * len(raws)
        failure: RowError | None = None
        for slot, raw in enumerate(raws):
            if raw is None:
                continue
            verdict = next(answers)
            if isinstance(verdict, str):
                e164[slot] = verdict
            elif failure is None:
                column = PHONE_COLUMNS[slot]
                failure = RowError(
                    record.line, column, f"{column}: {verdict.reason}", _raw_line(record)
                )
        if failure is not None:
            out.append(failure)
            continue
        values = record.values
        out.append(
            ContactRow(
                record.line,
                raws,
                tuple(e164),
                tuple(map(values.get, PARAM_COLUMNS)),
                values.get("crm_contact_id"),
                _raw_line(record),
            )
        )
    return out
