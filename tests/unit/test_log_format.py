"""Structured logs: one JSON object per line with the `extra` fields, in production."""

import json
import logging
import os
import subprocess
import sys

from django.conf import settings

from chatsite.log_format import JsonFormatter


def record_with(**extra) -> logging.LogRecord:
    logger = logging.getLogger("chat.test")
    try:
        raise ConnectionError("layer down")
    except ConnectionError:
        exc_info = sys.exc_info()
    return logger.makeRecord(
        "chat.test",
        logging.ERROR,
        __file__,
        1,
        "broadcast of message %s failed",
        (7,),
        exc_info,
        extra=extra,
    )


def test_json_line_has_time_level_logger_message_extras_and_exception():
    line = JsonFormatter().format(record_with(message_id=7, room_id=3))
    assert "\n" not in line  # one record, one line, traceback included
    entry = json.loads(line)
    assert entry["level"] == "ERROR"
    assert entry["logger"] == "chat.test"
    assert entry["message"] == "broadcast of message 7 failed"
    assert (entry["message_id"], entry["room_id"]) == (7, 3)
    assert entry["time"].endswith("+00:00")  # ISO 8601, UTC
    assert "ConnectionError: layer down" in entry["exception"]
    # Nothing of the LogRecord's own machinery leaks in.
    assert not {"args", "msg", "exc_info", "levelno", "pathname"} & set(entry)


def test_extras_json_cannot_hold_are_logged_as_text():
    entry = json.loads(JsonFormatter().format(record_with(request=object())))
    assert entry["request"].startswith("<object object")


SCRIPT = """
import logging, django
django.setup()
logging.getLogger("chat.events").warning("refused", extra={"reason": "test"})
logging.getLogger("django.request").error("boom", extra={"status_code": 500})
logging.getLogger("daphne.server").info("listening")
"""


def run_logging(env: dict) -> subprocess.CompletedProcess:
    clean = {
        key: value
        for key, value in os.environ.items()
        if key not in {"LOG_FORMAT", "LOG_LEVEL", "DJANGO_SETTINGS_MODULE"}
    }
    return subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env={**clean, "SECRET_KEY": "x", **env},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_logs_every_logger_as_json_lines_on_stderr():
    result = run_logging({"DJANGO_SETTINGS_MODULE": "chatsite.settings.production"})
    assert result.returncode == 0, result.stderr
    entries = [json.loads(line) for line in result.stderr.splitlines()]
    by_logger = {entry["logger"]: entry for entry in entries}
    assert by_logger["chat.events"]["reason"] == "test"
    assert by_logger["chat.events"]["level"] == "WARNING"
    assert by_logger["django.request"]["status_code"] == 500
    assert by_logger["daphne.server"]["message"] == "listening"


def test_text_logs_when_asked():
    result = run_logging(
        {
            "DJANGO_SETTINGS_MODULE": "chatsite.settings.production",
            "LOG_FORMAT": "text",
        }
    )
    assert result.returncode == 0, result.stderr
    assert " WARNING chat.events: refused" in result.stderr
    assert not result.stderr.lstrip().startswith("{")
