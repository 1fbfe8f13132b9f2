"""Send limits as GCRA token buckets, in Redis with one round trip (the production
cache) and in the in-process cache (the embedded default): the same answers from
both, on a clock the tests move."""

import asyncio

import pytest
from django.core.cache import caches

from chat import loop_clients, ratelimits
from chat.errors import RateLimited

# A moment just before a minute boundary, where fixed windows reset.
EDGE = 1_800_000_000 - 0.1


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
    _forget_send_rates(backend)
    yield backend
    _forget_send_rates(backend)


def _forget_send_rates(backend):
    if backend.__class__.__name__ == "RedisCache":  # this test's keys only
        client = backend._cache.get_client(write=True)
        keys = client.keys(backend.make_and_validate_key("send-rate:*"))
        if keys:
            client.delete(*keys)
    else:
        backend.clear()


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock(EDGE)
    monkeypatch.setattr(ratelimits, "clock", clock)
    return clock


class User:
    def __init__(self, pk):
        self.pk, self.is_staff = pk, False


@pytest.fixture
def user(counting_cache):
    return User(pk=10_000_000)


def refused(user) -> RateLimited | None:
    try:
        ratelimits.check_send(user)
    except RateLimited as error:
        return error
    return None


def test_the_burst_limit_refuses_the_next_message_with_a_retry_time(
    counting_cache, clock, settings, user
):
    settings.CHAT_SEND_BURST = "3/60"
    settings.CHAT_SEND_SUSTAINED = "100/600"
    for _ in range(3):
        ratelimits.check_send(user)
    error = refused(user)
    assert error is not None
    assert error.retry_after == 20  # one message every 60/3 s
    assert "3 messages per 60 s" in error.detail


def test_a_burst_across_the_old_window_edge_is_refused(
    counting_cache, clock, settings, user
):
    """Fixed windows reset at the minute: a burst just before it and another just
    after it would let twice the limit through in a fifth of a second."""
    settings.CHAT_SEND_BURST = "3/60"
    settings.CHAT_SEND_SUSTAINED = "100/600"
    for _ in range(3):
        ratelimits.check_send(user)
    clock.now += 0.2  # across the minute boundary
    assert refused(user) is not None


def test_the_budget_refills_at_its_rate(counting_cache, clock, settings, user):
    settings.CHAT_SEND_BURST = "3/60"
    settings.CHAT_SEND_SUSTAINED = "100/600"
    for _ in range(3):
        ratelimits.check_send(user)
    clock.now += 19.9
    assert refused(user) is not None
    clock.now += 0.1  # one message every 20 s
    assert refused(user) is None
    assert refused(user) is not None
    clock.now += 60  # a quiet spell as long as the period: the whole burst again
    assert [refused(user) is None for _ in range(4)] == [True, True, True, False]


def test_retry_after_is_the_first_whole_second_a_send_is_accepted(
    counting_cache, clock, settings, user
):
    settings.CHAT_SEND_BURST = "3/10"  # one every 3.33 s
    settings.CHAT_SEND_SUSTAINED = "100/600"
    for _ in range(3):
        ratelimits.check_send(user)
    clock.now += 1
    retry_after = refused(user).retry_after
    assert retry_after == 3  # 2.33 s, rounded up
    clock.now += retry_after - 1
    assert refused(user) is not None
    clock.now += 1
    assert refused(user) is None


def test_a_refused_attempt_spends_nothing(counting_cache, clock, settings, user):
    settings.CHAT_SEND_BURST = "100/60"
    settings.CHAT_SEND_SUSTAINED = "2/600"
    ratelimits.check_send(user)
    ratelimits.check_send(user)
    answers = [refused(user).retry_after for _ in range(5)]
    assert answers == [300] * 5  # retrying did not push the time back
    clock.now += 300
    assert refused(user) is None


def test_the_limit_waited_for_longest_is_the_one_reported(
    counting_cache, clock, settings, user
):
    settings.CHAT_SEND_BURST = "2/5"
    settings.CHAT_SEND_SUSTAINED = "2/600"
    ratelimits.check_send(user)
    ratelimits.check_send(user)
    error = refused(user)
    assert error.retry_after == 300
    assert "2 messages per 600 s" in error.detail


async def test_a_rate_faster_than_the_clock_counts_never_refuses_nor_fails(
    counting_cache, clock, settings, user
):
    """More per second than the clock has microseconds (the benchmark's setting):
    the interval rounds to nothing, and storing the bucket must still work."""
    settings.CHAT_SEND_BURST = "100000000/1"
    settings.CHAT_SEND_SUSTAINED = "100000000/60"
    for _ in range(3):
        ratelimits.check_send(user)
        await ratelimits.check_send_async(user)


def test_buckets_expire_once_full_again(counting_cache, clock, settings, user):
    settings.CHAT_SEND_BURST = "1/60"
    settings.CHAT_SEND_SUSTAINED = "100/600"
    ratelimits.check_send(user)
    if counting_cache.__class__.__name__ == "RedisCache":
        client = counting_cache._cache.get_client(write=True)
        for name, full_after in (("burst", 60_000), ("sustained", 6_000)):
            key = counting_cache.make_and_validate_key(f"send-rate:{name}:{user.pk}")
            assert 0 < client.pttl(key) <= full_after


async def test_the_loops_check_spends_the_same_budget_as_the_threads_check(
    counting_cache, clock, settings, user
):
    """The socket checks on the event loop, REST on a thread: one budget."""
    settings.CHAT_SEND_BURST = "3/60"
    settings.CHAT_SEND_SUSTAINED = "100/600"
    ratelimits.check_send(user)
    await ratelimits.check_send_async(user)
    ratelimits.check_send(user)
    with pytest.raises(RateLimited) as error:
        await ratelimits.check_send_async(user)
    assert error.value.retry_after == 20
    assert "3 messages per 60 s" in error.value.detail
    clock.now += 20
    await ratelimits.check_send_async(user)


async def test_staff_are_not_counted_on_the_loop_either(counting_cache, settings):
    settings.CHAT_SEND_BURST = "1/60"
    staff = User(pk=40_000_000)
    staff.is_staff = True
    for _ in range(3):
        await ratelimits.check_send_async(staff)


async def test_checks_asked_together_on_the_loop_spend_the_budget_one_by_one(
    counting_cache, clock, settings, user
):
    """Sends of several sockets at once go in one pipeline: each is still its own
    atomic check, so a burst of 3 lets exactly 3 of 5 through, and another user's
    budget is untouched."""
    settings.CHAT_SEND_BURST = "3/60"
    settings.CHAT_SEND_SUSTAINED = "100/600"
    other = User(pk=user.pk + 1)
    outcomes = await asyncio.gather(
        *(ratelimits.check_send_async(user) for _ in range(5)),
        ratelimits.check_send_async(other),
        return_exceptions=True,
    )
    refused = [outcome for outcome in outcomes[:5] if outcome is not None]
    assert len(refused) == 2
    assert all(isinstance(outcome, RateLimited) for outcome in refused)
    assert outcomes[5] is None


async def test_checks_together_reach_a_redis_that_never_saw_the_script(
    settings, clock, throwaway_redis
):
    """A restarted Redis has no scripts: the pipelined checks are refused with
    NOSCRIPT, the script is loaded and they run again (once each: a refused EVALSHA
    ran nothing)."""
    redis = throwaway_redis
    try:
        settings.REDIS_URL = redis.url
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": redis.url,
            }
        }
        settings.CHAT_SEND_BURST = "2/60"
        settings.CHAT_SEND_SUSTAINED = "100/600"
        user = User(pk=20_000_000)
        outcomes = await asyncio.gather(
            *(ratelimits.check_send_async(user) for _ in range(3)),
            return_exceptions=True,
        )
        assert outcomes[:2] == [None, None]
        assert isinstance(outcomes[2], RateLimited)
    finally:
        await loop_clients.close_for_running_loop()
