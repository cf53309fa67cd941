"""JSON log lines with a request id; control characters escaped so no line can be forged."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

from istv_portal.middleware import request_id_var

_CONTROL = re.compile(r"[\x00-\x1f\x7f\x1b]")


def escape_control(text: str) -> str:
    """Replace CR, LF, ANSI escapes and other control characters with visible escapes."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def escape_value(value: object) -> object:
    """``escape_control`` applied to every string inside a value, however nested."""
    if isinstance(value, str):
        return escape_control(value)
    if isinstance(value, dict):
        return {escape_control(str(k)): escape_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [escape_value(v) for v in value]
    return value


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "request_id", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": escape_control(record.getMessage()),
            "request_id": escape_value(getattr(record, "request_id", "-")),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                payload[key] = escape_value(value)
        if record.exc_info:
            payload["exception"] = escape_control(self.formatException(record.exc_info))
        return json.dumps(payload, default=str)
