"""Log records as JSON, one object per line, for a log collector to parse.

Each line has `time` (ISO 8601, UTC), `level`, `logger` and `message`, then every
field passed with `extra=` (message_id, room_id, reason...), then `exception` with
the traceback when there is one. Selected with LOG_FORMAT=json (chatsite.settings).
Named log_format, not logging, so that it never shadows the standard library's.
"""

import json
import logging
from datetime import UTC, datetime

# The attributes every LogRecord has; anything else on a record came from `extra`.
_STANDARD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", logging.INFO, "", 0, "", (), None))
) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # default=str: an extra that JSON cannot hold (Django's `request`) is logged
        # as its str(), never dropped and never an error.
        return json.dumps(entry, default=str, ensure_ascii=False)
