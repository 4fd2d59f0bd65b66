"""Structured logs: one JSON object a line, dotted event names, tenant and
conversation ids as fields (never secrets)."""

from __future__ import annotations

import json
import logging
import sys
import time

from frontdesk import tracing


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "service": getattr(record, "service", record.name.split(".")[0]),
            "event": record.getMessage(),
        }
        out.update(getattr(record, "fields", {}))
        if tracing.enabled() and (trace_id := tracing.current_trace_id()):
            out["trace_id"] = trace_id  # joins a log line to its trace
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = dict(getattr(record, "fields", {}))
        if tracing.enabled() and (trace_id := tracing.current_trace_id()):
            fields["trace_id"] = trace_id
        extra = " ".join(f"{k}={v}" for k, v in fields.items())
        line = f"{time.strftime('%H:%M:%S', time.localtime(record.created))} {record.levelname[0]} {record.name} {record.getMessage()} {extra}".rstrip()
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def setup(level: str = "INFO", fmt: str = "json") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonFormatter() if fmt == "json" else _TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


class EventLogger:
    """logger.info("reply.stored", tenant=..., conversation=...)"""

    def __init__(self, name: str):
        self._log = logging.getLogger(name)

    def _emit(self, level: int, event: str, exc_info=None, **fields) -> None:
        if self._log.isEnabledFor(level):
            self._log.log(level, event, extra={"fields": fields}, exc_info=exc_info)

    def debug(self, event: str, **fields) -> None:
        self._emit(logging.DEBUG, event, **fields)

    def info(self, event: str, **fields) -> None:
        self._emit(logging.INFO, event, **fields)

    def warning(self, event: str, **fields) -> None:
        self._emit(logging.WARNING, event, **fields)

    def error(self, event: str, exc_info=None, **fields) -> None:
        self._emit(logging.ERROR, event, exc_info=exc_info, **fields)


def get(name: str) -> EventLogger:
    return EventLogger(name)
