"""Settings for a deployment: no default secret, HTTPS only (redirect, HSTS, secure
cookies), debug off, JSON logs. `manage.py check --deploy` is clean with the
environment docs/deploy.md gives (tests/unit/test_deploy_checks.py)."""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import LOG_LEVEL, SECRET_KEY, env_bool, env_int, logging_config

if not SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY must be set in the environment in production."
    )

SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
SECURE_CONTENT_TYPE_NOSNIFF = True

# A deployment sits behind TLS (docs/deploy.md): plain HTTP is redirected to HTTPS
# and browsers are told to use nothing else. Whether a request came over TLS is the
# proxy's X-Forwarded-Proto, believed from CHAT_TRUSTED_PROXIES only
# (chatsite.client_address); without that setting behind a TLS proxy every request
# would look plain and be redirected forever. Set SECURE_SSL_REDIRECT=0 and
# SECURE_HSTS_SECONDS=0 only for a server that is not reached over TLS at all.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
# Probes and scrapers on the machine speak plain HTTP to each worker.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
# A year, as browsers' preload lists ask; short values only protect a visitor
# who came back recently. Subdomains of the chat's host are covered too.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 60 * 60)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
# Asking browsers to preload the domain is a decision about the whole registrable
# domain, hard to take back, so it is the operator's (SECURE_HSTS_PRELOAD=1), and
# Django's reminder that it is off (security.W021) is not a fault of this setup.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
if not SECURE_HSTS_PRELOAD:
    SILENCED_SYSTEM_CHECKS = ["security.W021"]

# A deployment's logs go to a collector: one JSON object per line unless told.
LOG_FORMAT = os.environ.get("LOG_FORMAT") or "json"
LOGGING = logging_config(LOG_FORMAT, LOG_LEVEL)
