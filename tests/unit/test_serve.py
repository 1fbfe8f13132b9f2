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
