"""Process configuration, read from the environment (prefix ``OUTBOUND_``).

Only what must be known before the database is reachable lives here; everything an
administrator edits at run time (batch size, folders, timeouts, connections) is a
database-backed setting (see ``outbound.settings``).
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

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
    # Rows per import transaction: the unit of progress and of resumption after a crash.
    import_chunk_rows: int = 20_000
    # Run the dialing engine inside `outbound serve` (one engine is enough on SQLite;
    # on PostgreSQL more can run as `outbound worker` processes).
    engine: bool = True

    @cached_property
    def effective_database_url(self) -> str:
        """The configured URL, or the embedded SQLite file inside the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'outbound.db').resolve()}"
