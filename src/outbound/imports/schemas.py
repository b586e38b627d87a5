"""API shapes of import jobs and their rejected rows."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    computed_field,
    field_validator,
)

from outbound.api.schemas import NoNul, Strict
from outbound.models import ImportSource, ImportStatus

# Row rules (28 characters a phone, 255 a parameter) are checked per row, so that one bad
# contact is reported and the rest import; this bound only keeps requests sane.
Cell = Annotated[str, StringConstraints(max_length=1000), NoNul]
MAX_BATCH = 10_000


class BatchContact(Strict):
    phone1: Cell | None = None
    phone2: Cell | None = None
    phone3: Cell | None = None
    phone4: Cell | None = None
    phone5: Cell | None = None
    param1: Cell | None = None
    param2: Cell | None = None
    param3: Cell | None = None
    param4: Cell | None = None
    param5: Cell | None = None
    param6: Cell | None = None
    param7: Cell | None = None
    param8: Cell | None = None
    param9: Cell | None = None
    param10: Cell | None = None
    param11: Cell | None = None
    param12: Cell | None = None
    crm_contact_id: Cell | None = None


class BatchIn(Strict):
    contacts: Annotated[list[BatchContact], Field(min_length=1, max_length=MAX_BATCH)]


class ImportJobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    campaign_id: int
    source: ImportSource
    filename: str
    status: ImportStatus
    rows_read: int = Field(description="Rows read so far (records and rejected rows)")
    rows_imported: int
    rows_rejected: int
    rows_duplicate: int = Field(description="Phone 1 already has an open life cycle")
    rows_dnc: int = Field(description="Imported as DNC Listed")
    bytes_total: int
    bytes_done: int
    error: str | None
    warnings: list[str] = Field(
        default_factory=list,
        description="What of the file is not imported although the file is (ignored columns)",
    )
    archived_path: str | None
    created_by: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @field_validator("warnings", mode="before")
    @classmethod
    def _lines(cls, value: object) -> object:
        """The job stores its warnings one a line."""
        if value is None:
            return []
        return value.splitlines() if isinstance(value, str) else value

    @computed_field  # type: ignore[prop-decorator]
    @property
    def progress(self) -> float:
        """0 to 1: the share of the file read and committed."""
        if self.status in (ImportStatus.COMPLETED, ImportStatus.FAILED):
            return 1.0
        return round(self.bytes_done / self.bytes_total, 4) if self.bytes_total else 0.0


class RejectOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    line: int = Field(description="File line where the row starts; for a JSON batch, its index")
    column: str | None
    reason: str
    raw: str
