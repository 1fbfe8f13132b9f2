"""`manage.py check --deploy` finds nothing in the production settings with the
environment docs/deploy.md gives (its `export` lines, a real secret in place of
`...`)."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

from django.conf import settings

DEPLOY_DOC = Path(settings.BASE_DIR) / "docs" / "deploy.md"


def documented_environment() -> dict[str, str]:
    exports = re.findall(r"^export (\w+)=(\S+)", DEPLOY_DOC.read_text(), re.MULTILINE)
    environment = dict(exports)
    assert environment["DJANGO_SETTINGS_MODULE"] == "chatsite.settings.production"
    environment["SECRET_KEY"] = secrets.token_urlsafe(50)
    return environment


def deploy_check(**overrides: str) -> subprocess.CompletedProcess:
    # Only the documented variables: none of the test run's own may leak in.
    inherited = {
        name: os.environ[name] for name in ("PATH", "HOME") if name in os.environ
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env={**inherited, **documented_environment(), **overrides},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_documented_production_setup_passes_the_deploy_checks():
    result = deploy_check()
    assert result.returncode == 0, result.stderr
    assert "identified no issues" in result.stdout


def test_turning_https_off_is_reported_by_the_deploy_checks():
    result = deploy_check(SECURE_SSL_REDIRECT="0", SECURE_HSTS_SECONDS="0")
    assert result.returncode != 0
    assert "security.W004" in result.stderr and "security.W008" in result.stderr
