"""Send limits counted in Redis with one round trip (the production cache), and in
any other cache the plain way: the same answers from both."""

import pytest
from django.core.cache import caches

from chat import ratelimits
from chat.errors import RateLimited


@pytest.fixture(params=["redis", "locmem"])
def counting_cache(request, settings):
    if request.param == "redis":
        if not settings.REDIS_URL:
            pytest.skip("REDIS_URL is not set")
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": settings.REDIS_URL,
                "KEY_PREFIX": f"{settings.CHANNEL_LAYER_PREFIX}-ratelimit-test",
            }
        }
    backend = caches["default"]
    yield backend
    if request.param == "redis":  # only this test's keys: never flush shared Redis
        client = backend._cache.get_client(write=True)
        keys = client.keys(backend.make_and_validate_key("send-rate:*"))
        if keys:
            client.delete(*keys)
    else:
        backend.clear()


class User:
    def __init__(self, pk):
        self.pk, self.is_staff = pk, False


def test_the_burst_limit_refuses_the_next_message_with_a_retry_time(
    counting_cache, settings
):
    settings.CHAT_SEND_BURST = "3/60"
    settings.CHAT_SEND_SUSTAINED = "100/600"
    user = User(pk=10_000_000 + id(counting_cache) % 1000)
    for _ in range(3):
        ratelimits.check_send(user)
    with pytest.raises(RateLimited) as refused:
        ratelimits.check_send(user)
    assert 1 <= refused.value.retry_after <= 61
    assert "3 messages per 60 s" in refused.value.detail


def test_the_sustained_limit_counts_every_attempt(counting_cache, settings):
    settings.CHAT_SEND_BURST = "100/60"
    settings.CHAT_SEND_SUSTAINED = "2/600"
    user = User(pk=20_000_000 + id(counting_cache) % 1000)
    ratelimits.check_send(user)
    ratelimits.check_send(user)
    for _ in range(2):  # refused attempts stay refused
        with pytest.raises(RateLimited):
            ratelimits.check_send(user)


def test_counters_expire_with_their_window(counting_cache, settings):
    settings.CHAT_SEND_BURST = "1/60"
    settings.CHAT_SEND_SUSTAINED = "100/600"
    user = User(pk=30_000_000 + id(counting_cache) % 1000)
    ratelimits.check_send(user)
    if counting_cache.__class__.__name__ == "RedisCache":
        client = counting_cache._cache.get_client(write=True)
        for name, window in (("burst", 60), ("sustained", 600)):
            pattern = f"send-rate:{name}:{user.pk}:*"
            keys = client.keys(counting_cache.make_and_validate_key(pattern))
            assert len(keys) == 1
            assert 0 < client.ttl(keys[0]) <= window + 1


async def test_the_loops_check_counts_in_the_same_windows_as_the_threads_check(
    counting_cache, settings
):
    """The socket counts on the event loop, REST on a thread: one budget."""
    settings.CHAT_SEND_BURST = "3/60"
    settings.CHAT_SEND_SUSTAINED = "100/600"
    user = User(pk=30_000_000 + id(counting_cache) % 1000)
    ratelimits.check_send(user)
    await ratelimits.check_send_async(user)
    ratelimits.check_send(user)
    with pytest.raises(RateLimited) as refused:
        await ratelimits.check_send_async(user)
    assert 1 <= refused.value.retry_after <= 61
    assert "3 messages per 60 s" in refused.value.detail


async def test_staff_are_not_counted_on_the_loop_either(counting_cache, settings):
    settings.CHAT_SEND_BURST = "1/60"
    staff = User(pk=40_000_000 + id(counting_cache) % 1000)
    staff.is_staff = True
    for _ in range(3):
        await ratelimits.check_send_async(staff)
