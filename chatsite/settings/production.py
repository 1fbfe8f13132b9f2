"""Settings for a deployment: no default secret, secure cookies, debug off, JSON
logs."""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import LOG_LEVEL, SECRET_KEY, env_bool, logging_config

if not SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY must be set in the environment in production."
    )

SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
SECURE_CONTENT_TYPE_NOSNIFF = True

# A deployment's logs go to a collector: one JSON object per line unless told.
LOG_FORMAT = os.environ.get("LOG_FORMAT") or "json"
LOGGING = logging_config(LOG_FORMAT, LOG_LEVEL)
