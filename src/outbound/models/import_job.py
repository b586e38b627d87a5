"""Import jobs: one per uploaded file or JSON batch, whatever its source."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from outbound.db.base import Base, BigId, UTCDateTime
from outbound.models._columns import enum_column, utcnow


class ImportStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class ImportSource(StrEnum):
    UPLOAD = "upload"  # web UI or REST multipart file
    JSON = "json"  # REST batch of contacts
    FOLDER = "folder"  # watched shared folder
    CLI = "cli"


class ImportJob(Base):
    __tablename__ = "import_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[ImportSource] = mapped_column(enum_column(ImportSource, 16))
    filename: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[ImportStatus] = mapped_column(enum_column(ImportStatus, 12), index=True)
    # Where the file waits while it is imported; None once archived or for JSON batches.
    stored_path: Mapped[str | None] = mapped_column(String(1024))
    archived_path: Mapped[str | None] = mapped_column(String(1024))
    bytes_total: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    bytes_done: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # Records and row errors consumed and committed so far: the resume point after a crash.
    rows_read: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_imported: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_rejected: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_duplicate: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_dnc: Mapped[int] = mapped_column(BigInteger, default=0)
    error: Mapped[str | None] = mapped_column(String(1000))
    # What of a file that imports is not imported (ignored columns), one warning a line.
    warnings: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(64))
    # The HTTP request that queued it (X-Request-ID): the job's log lines carry it.
    request_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    worker_id: Mapped[str | None] = mapped_column(String(64))
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ImportReject(Base):
    """One rejected row of an import: where it was, which column, why, and what it said."""

    __tablename__ = "import_rejects"
    __table_args__ = (Index("ix_import_rejects_job_line", "job_id", "line"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("import_jobs.id", ondelete="CASCADE"))
    line: Mapped[int] = mapped_column(BigInteger)
    column: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(255))
    raw: Mapped[str] = mapped_column(Text, default="")
