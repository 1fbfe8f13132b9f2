"""The serve command refuses to start on a Twisted it was not verified with."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

from tests.servers import free_port

pytestmark = pytest.mark.processes

# The serve command as a deployment runs it, with one thing changed: the version
# that importlib.metadata reports for twisted.
SERVE_WITH_ANOTHER_TWISTED = """
import sys
from importlib import metadata

real = metadata.version
metadata.version = lambda name: "99.1.0" if name == "twisted" else real(name)
from chatsite.serve import main

main(["--port", sys.argv[1]])
"""


def test_the_server_does_not_start_on_an_unverified_twisted():
    result = subprocess.run(
        [sys.executable, "-c", SERVE_WITH_ANOTHER_TWISTED, str(free_port())],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "chatsite.settings.test"},
        capture_output=True,
        text=True,
        timeout=20,  # a server that starts runs until killed: a failure
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured: twisted 99.1.0 is installed" in result.stderr
    assert "Listening" not in result.stdout + result.stderr
