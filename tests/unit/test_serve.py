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


@override_settings(CHAT_PROXY_HEADERS=True)
def test_behind_a_proxy_the_client_address_comes_from_x_forwarded_for():
    assert "--proxy-headers" in daphne_arguments(["--fd", "3"])


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
