"""Settings for the test suite: fast hashing, an isolated channel-layer prefix."""

import os

from .base import *  # noqa: F403
from .base import BASE_DIR, CHANNEL_LAYERS, DATABASES, REDIS_URL, SECRET_KEY

SECRET_KEY = SECRET_KEY or "test-only-secret-key"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Static files are served from the finders, so tests need no collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so that server processes started by tests share it.
    DATABASES["default"]["TEST"] = {
        "NAME": str(BASE_DIR / "test-artifacts" / "test.sqlite3")
    }

if REDIS_URL:
    # A prefix of our own per test run: groups never meet a running server's, nor an
    # earlier run's. Server processes started by tests inherit it via the environment.
    CHANNEL_LAYER_PREFIX = (
        os.environ.get("CHANNEL_LAYER_PREFIX") or f"test{os.getpid()}"
    )
    CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = CHANNEL_LAYER_PREFIX

# Throttling is tested on purpose (tests/api/test_throttling.py); elsewhere it must not
# get in the way. The cache stays in memory: a test may clear it, and clearing a
# Redis cache would flush the shared Redis database.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {
        "anon": "100000/min",
        "user": "100000/min",
        "login": "100000/min",
        "signup": "100000/min",
    },
}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Flood control is tested on purpose (tests/consumers/test_flood_control.py); tests
# that post a lot must not trip it. Servers started by tests may set their own.
CHAT_SEND_BURST = os.environ.get("CHAT_SEND_BURST", "100000/5")
CHAT_SEND_SUSTAINED = os.environ.get("CHAT_SEND_SUSTAINED", "100000/60")

# Uploaded files of tests never land in the repository's media/: tests that store
# files point MEDIA_ROOT at their own temporary directory (the `media_root` fixture),
# and this is the fallback for anything else, servers started by tests included.
MEDIA_ROOT = os.environ.get("MEDIA_ROOT") or BASE_DIR / "test-artifacts" / "media"
CHAT_UPLOAD_BURST = os.environ.get("CHAT_UPLOAD_BURST", "100000/5")
CHAT_UPLOAD_SUSTAINED = os.environ.get("CHAT_UPLOAD_SUSTAINED", "100000/60")
CHAT_REACTION_BURST = os.environ.get("CHAT_REACTION_BURST", "100000/5")
CHAT_REACTION_SUSTAINED = os.environ.get("CHAT_REACTION_SUSTAINED", "100000/60")
