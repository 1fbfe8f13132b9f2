"""`manage.py chat_probe`: round trips through the configured layer, a database check,
and a quick, clear failure when the layer is not there."""

import json
import os
import socket
import subprocess
import sys
import time
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from tests import servers

pytestmark = pytest.mark.django_db

IN_MEMORY = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


def probe(*args: str) -> dict:
    out = StringIO()
    call_command("chat_probe", "--json", *args, stdout=out)
    return json.loads(out.getvalue())


def assert_round_trips(layer: dict, count: int) -> None:
    assert layer["status"] == "ok"
    assert layer["count"] == count
    assert len(layer["latencies_ms"]) == count
    assert 0 < layer["min_ms"] <= layer["median_ms"] <= layer["max_ms"]
    assert layer["max_ms"] == max(layer["latencies_ms"])


def test_probe_round_trips_through_the_in_memory_layer(settings):
    settings.CHANNEL_LAYERS = IN_MEMORY
    report = probe("--count", "3")
    assert report["status"] == "ok"
    assert report["database"]["status"] == "ok"
    assert report["database"]["ms"] >= 0
    assert report["channel_layer"]["backend"] == (
        "channels.layers.InMemoryChannelLayer"
    )
    assert_round_trips(report["channel_layer"], 3)


def test_probe_round_trips_through_redis(redis_url):
    report = probe("--count", "4")
    assert report["status"] == "ok"
    backend = settings.CHANNEL_LAYERS["default"]["BACKEND"]
    assert report["channel_layer"]["backend"].startswith(f"{backend} at redis://")
    assert_round_trips(report["channel_layer"], 4)


def test_probe_reports_in_text_by_default(settings):
    settings.CHANNEL_LAYERS = IN_MEMORY
    out = StringIO()
    call_command("chat_probe", "--count", "2", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("database: ok (SELECT 1 in ")
    assert lines[1].startswith("channel layer: ok, 2 round trips through ")
    assert "median" in lines[1]


def test_probe_refuses_a_count_below_one():
    with pytest.raises(CommandError, match="--count must be at least 1"):
        call_command("chat_probe", "--count", "0")


def run_probe_against(
    redis_url: str, *args: str
) -> tuple[subprocess.CompletedProcess, float]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "chatsite.settings.test",
        "DATABASE_URL": servers.test_database_url(),
        "REDIS_URL": redis_url,
    }
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "manage.py", "chat_probe", *args],
        cwd=servers.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=100,
    )
    return result, time.monotonic() - started


def test_probe_fails_fast_and_clearly_when_nothing_listens():
    port = servers.free_port()  # bound, released: nothing listens there now
    result, elapsed = run_probe_against(
        f"redis://user:secret@127.0.0.1:{port}/0", "--timeout", "60"
    )
    assert result.returncode == 1
    assert "CommandError: channel_layer: " in result.stderr
    assert f"at redis://127.0.0.1:{port}/0 failed while joining a group" in (
        result.stderr
    )
    assert "ConnectionError" in result.stderr
    assert "secret" not in result.stderr + result.stdout  # no password in the report
    assert "database: ok" in result.stdout
    # A refused connection is an answer: no waiting out the 60 s timeout.
    assert elapsed < 30


def test_probe_gives_up_after_the_timeout_when_the_layer_never_answers():
    with socket.socket() as silent:
        # Listening, so connections are accepted by the kernel, but never answered.
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        result, elapsed = run_probe_against(
            f"redis://127.0.0.1:{port}/0", "--timeout", "1", "--json"
        )
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["status"] == "failed"
    assert report["database"]["status"] == "ok"
    error = report["channel_layer"]["error"]
    # The probe process has REDIS_URL, so it runs the Redis layer this test process
    # may not (without REDIS_URL the tests themselves use the in-memory layer).
    backend = {
        "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "core": "channels_redis.core.RedisChannelLayer",
    }[settings.CHAT_CHANNEL_LAYER]
    assert error.startswith(f"{backend} at redis://127.0.0.1:{port}/0 ")
    # The core layer is cut off by the probe's own timeout; the pub/sub layer's
    # client times out reading first. Either way the message says what and where.
    assert error.endswith("did not answer within 1 s while joining a group") or (
        "failed while joining a group: TimeoutError" in error
    )
    assert error in result.stderr
    assert elapsed < 30
