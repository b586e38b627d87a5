"""Process configuration, read from the environment (prefix ``OUTBOUND_``).

Only what must be known before the database is reachable lives here; everything an
administrator edits at run time (batch size, folders, timeouts, connections) is a
database-backed setting (see ``outbound.settings``).
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Config(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OUTBOUND_", extra="ignore")

    data_dir: Path = Path("data")
    database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    session_hours: float = 12.0
    login_free_failures: int = 5
    login_max_delay_seconds: int = 900
    # Failed log-ins from one client address (any user names) before it is slowed down.
    login_address_free_failures: int = 20
    # Rows per import transaction: the unit of progress and of resumption after a crash.
    import_chunk_rows: int = 20_000
    # Run the dialing engine inside `outbound serve` (one engine is enough on SQLite;
    # on PostgreSQL more can run as `outbound worker` processes).
    engine: bool = True
    # Each engine worker writes a heartbeat this often; a worker silent for longer than
    # ``worker_silent_seconds`` is taken for dead by the others, which end its calls in flight
    # as Dangling (its results can never arrive). Silence must outlast several beats, or a
    # busy but live worker would be declared dead.
    worker_heartbeat_seconds: float = Field(default=5.0, gt=0, le=3600)
    worker_silent_seconds: float = Field(default=30.0, gt=0, le=86_400)
    # Metrics (README "Metrics"): /metrics answers only to this bearer token (404 without
    # one); ``metrics_listen`` (host:port) serves them on an address of their own too.
    metrics_token: SecretStr | None = None
    metrics_listen: str | None = None
    # The database's figures are read at most this often (scrapes in between get the last).
    metrics_cache_seconds: float = Field(default=5.0, ge=0, le=3600)
    # Logs: one line per event, plain text or JSON objects.
    log_format: Literal["text", "json"] = "text"

    @model_validator(mode="after")
    def _silence_outlasts_beats(self) -> Config:
        if self.worker_silent_seconds < 3 * self.worker_heartbeat_seconds:
            raise ValueError(
                "worker_silent_seconds must be at least 3 times worker_heartbeat_seconds"
            )
        return self

    @cached_property
    def effective_database_url(self) -> str:
        """The configured URL, or the embedded SQLite file inside the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'outbound.db').resolve()}"
