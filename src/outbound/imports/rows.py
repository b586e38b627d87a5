"""Turn a chunk of file records into contact rows or row errors. Pure: no I/O.

Phones are validated for the whole chunk at once (the bulk validator is where the speed
is); a row is refused at its first bad phone, naming the column and the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from outbound.contacts.phones import PhoneError, normalise_many
from outbound.imports.reader import PARAM_COLUMNS, PHONE_COLUMNS, Record, RowError


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
    return ",".join(record.values.values())[:500]


def validate(records: Sequence[Record], *, default_region: str) -> list[ContactRow | RowError]:
    """Each record's contact row, or the error of its first bad phone, in order."""
    wanted = [
        (i, column, record.values[column])
        for i, record in enumerate(records)
        for column in PHONE_COLUMNS
        if column in record.values
    ]
    verdicts = normalise_many([raw for _, _, raw in wanted], default_region=default_region)
    e164: list[dict[str, str]] = [{} for _ in records]
    failed: dict[int, RowError] = {}
    for (i, column, _raw), verdict in zip(wanted, verdicts, strict=True):
        if isinstance(verdict, PhoneError):
            if i not in failed:
                failed[i] = RowError(
                    records[i].line, column, f"{column}: {verdict.reason}", _raw_line(records[i])
                )
        else:
            e164[i][column] = verdict
    out: list[ContactRow | RowError] = []
    for i, record in enumerate(records):
        if i in failed:
            out.append(failed[i])
            continue
        values = record.values
        out.append(
            ContactRow(
                line=record.line,
                phones=tuple(values.get(c) for c in PHONE_COLUMNS),
                e164=tuple(e164[i].get(c) for c in PHONE_COLUMNS),
                params=tuple(values.get(c) for c in PARAM_COLUMNS),
                crm_contact_id=values.get("crm_contact_id"),
                raw=_raw_line(record),
            )
        )
    return out
