"""Shared fixtures: users and rooms, and the switch that makes missing services fail.

With CHAT_REQUIRE_SERVICES=1 (set by .ci/run) a test that needs Redis, PostgreSQL or
Chromium fails when that is missing instead of being skipped.
"""

import inspect
import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from chat import loop_clients, services

REQUIRE_SERVICES = os.environ.get("CHAT_REQUIRE_SERVICES") == "1"
CHROMIUM = "/usr/bin/chromium"

Path(settings.BASE_DIR, "test-artifacts").mkdir(exist_ok=True)


def missing(reason: str):
    """Skip, or fail when the run requires every service."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (CHAT_REQUIRE_SERVICES=1)")
    pytest.skip(reason)


@pytest.fixture
def redis_url():
    """The Redis behind the channel layer; the test needs channels-redis."""
    if not settings.REDIS_URL:
        missing("REDIS_URL is not set: this test needs the Redis channel layer")
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2).ping()
    except redis.RedisError as error:
        missing(f"Redis at {settings.REDIS_URL} is unreachable: {error}")
    return settings.REDIS_URL


@pytest.fixture
def throwaway_redis():
    """A redis-server of this test's own on a free port (empty; it may be killed)."""
    if not shutil.which("redis-server"):
        missing("redis-server is not installed")
    from tests.servers import ThrowawayRedis

    redis = ThrowawayRedis().start()
    yield redis
    redis.stop()


@pytest.fixture
def postgres():
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        missing("DATABASE_URL is not PostgreSQL")


@pytest.fixture(scope="session")
def chromium_path():
    if not shutil.which(CHROMIUM):
        missing(f"{CHROMIUM} is missing: apt-get install chromium")
    return CHROMIUM


@pytest.fixture
async def close_loop_clients():
    """At the end of an async test, close the clients its event loop made
    (chat.loop_clients), as a server does at shutdown: the next test's loop makes
    its own, and no connection of a finished loop is left open."""
    yield
    await loop_clients.close_for_running_loop()


def pytest_collection_modifyitems(items):
    # Only coroutine tests run on an event loop of their own; sync tests need no
    # such fixture (and would each pay for a loop to run it).
    for item in items:
        if inspect.iscoroutinefunction(getattr(item, "function", None)):
            item.fixturenames.append("close_loop_clients")


@pytest.fixture(autouse=True)
def fresh_cache():
    """Throttle counters start from zero in every test (the test cache is in memory)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def default_language():
    """Each test starts in the default language: the test client leaves a request's
    language active in the thread afterwards (LocaleMiddleware activates, nothing
    deactivates), and a later test calling a service directly would see it."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture
def make_user(django_user_model):
    def make(username: str, password: str = "pw-for-tests-only", **extra):
        return django_user_model.objects.create_user(
            username=username, password=password, **extra
        )

    return make


@pytest.fixture
def ana(make_user):
    return make_user("ana")


@pytest.fixture
def bob(make_user):
    return make_user("bob")


@pytest.fixture
def carol(make_user):
    return make_user("carol")


@pytest.fixture
def general(ana, bob):
    """A public room owned by ana, with bob as a member."""
    room = services.room_create(owner=ana, slug="general", name="General")
    services.room_join(user=bob, room=room)
    return room


@pytest.fixture
def hideout(ana):
    """A private room whose only member is ana."""
    return services.room_create(
        owner=ana, slug="hideout", name="Hideout", is_private=True
    )


@pytest.fixture
def media_root(settings, tmp_path):
    """Files stored by the test go to its own temporary directory, never media/."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"
