"""The process's logging: one line per event on stderr, plain text or JSON.

Every line carries the time (UTC), the level, the logger, the message and, when the event
belongs to a request (or to work a request caused), its ``request_id``; fields given as
``extra={"fields": {...}}`` are added (``key=value`` in text). Messages, fields and
tracebacks go through ``redact`` first; a traceback stays on its event's line (JSON escapes
its line breaks, text writes them as ``\\n``). uvicorn's own loggers are routed here too,
and its access log is replaced by the request middleware's line (which never includes the
query string: the Kannel callbacks carry their key there).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal

from outbound.logs import context
from outbound.logs.redact import redact

Format = Literal["text", "json"]
_HANDLER_NAME = "outbound"


class _Context(logging.Filter):
    """Adds the request id of the context the event was logged in."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = context.current()
        return True


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = getattr(record, "fields", None)
    return dict(fields) if isinstance(fields, dict) else {}


def _stamp(record: logging.LogRecord) -> str:
    at = datetime.fromtimestamp(record.created, UTC)
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _traceback(formatter: logging.Formatter, record: logging.LogRecord) -> str | None:
    if record.exc_info:
        return redact(formatter.formatException(record.exc_info))
    if record.exc_text:
        return redact(record.exc_text)
    return None


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": _stamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            line["request_id"] = request_id
        for key, value in _fields(record).items():
            line.setdefault(key, redact(value) if isinstance(value, str) else value)
        trace = _traceback(self, record)
        if trace:
            line["exc"] = trace
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        parts = [_stamp(record), record.levelname, record.name]
        request_id = getattr(record, "request_id", None)
        if request_id:
            parts.append(f"[{request_id}]")
        parts.append(redact(record.getMessage()))
        for key, value in _fields(record).items():
            parts.append(f"{key}={redact(str(value))}")
        trace = _traceback(self, record)
        if trace:
            parts.append(trace)
        return " ".join(parts).replace("\r", "").replace("\n", "\\n")


def configure(fmt: Format = "text", *, level: int = logging.INFO) -> None:
    """Route every logger (ours, uvicorn's, the libraries') to one stderr handler."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME:
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(_Context())
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # the middleware logs each request
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per webhook POST otherwise
