"""The serve command's Daphne options and its refusal to run workers without Redis."""

import os
import subprocess
import sys

from django.conf import settings
from django.test import override_settings

from chatsite.serve import daphne_arguments


def test_daphne_options_carry_the_protocols_limits():
    arguments = daphne_arguments(["-b", "127.0.0.1", "-p", "8000"])
    heartbeat = str(settings.CHAT_HEARTBEAT_SECONDS)
    assert arguments[arguments.index("--ping-interval") + 1] == heartbeat
    limit = arguments[arguments.index("--websocket-max-message-size") + 1]
    assert limit == str(settings.CHAT_MAX_FRAME_BYTES)
    assert "--proxy-headers" not in arguments
    assert arguments[-1] == "chatsite.asgi:application"


@override_settings(CHAT_TRUSTED_PROXIES=["127.0.0.1"])
def test_behind_a_proxy_daphne_still_does_not_believe_x_forwarded_for():
    # Daphne's --proxy-headers trusts the header from anyone; the application
    # resolves the client by CHAT_TRUSTED_PROXIES (chatsite.client_address).
    assert "--proxy-headers" not in daphne_arguments(["--fd", "3"])


def test_several_workers_without_redis_are_refused_with_a_reason():
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL"}}
    env.update(
        DJANGO_SETTINGS_MODULE="chatsite.settings.local",
        DATABASE_URL="sqlite:///unused.sqlite3",
    )
    result = subprocess.run(
        [sys.executable, "-m", "chatsite.serve", "--workers", "2", "--port", "1"],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "needs REDIS_URL" in result.stderr


def garbage_collector_after_tuning(young_threshold: int) -> list[str]:
    # In a process of its own: freezing is for the life of the process.
    code = (
        "import gc; from chatsite.serve import tune_garbage_collector; "
        f"tune_garbage_collector({young_threshold}); "
        "print(gc.get_freeze_count() > 0, gc.get_threshold()[0])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_the_worker_freezes_start_up_objects_and_collects_young_ones_less_often():
    assert garbage_collector_after_tuning(10_000) == ["True", "10000"]


def test_a_threshold_of_zero_leaves_pythons_collector_as_it_is():
    assert garbage_collector_after_tuning(0) == ["False", "700"]
