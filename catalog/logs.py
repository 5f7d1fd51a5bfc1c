"""Log records as JSON lines, each stamped with the id of the request it happened in."""

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

current_request_id: ContextVar[str | None] = ContextVar("current_request_id", default=None)


@contextmanager
def request_id_bound(request_id: str) -> Iterator[None]:
    """Stamps every record logged until the block ends with `request_id`."""
    token = current_request_id.set(request_id)
    try:
        yield
    finally:
        current_request_id.reset(token)


class JsonLineFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message", "request_id"?, …fields, "exception"?}` on one
    line; `fields` is a dict given as `extra={"fields": {…}}`."""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC)
        entry = {
            "time": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if current_request_id.get() is not None:
            entry["request_id"] = current_request_id.get()
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)
