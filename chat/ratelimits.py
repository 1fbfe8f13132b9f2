"""Flood control: how often a user may post (and upload files), counted across
sockets, REST and server processes (in the cache, which is Redis when REDIS_URL is
set).

Two fixed windows per user, a burst and a sustained rate, both settings. Fixed windows
let a user send up to twice a window's count across a window boundary; that is the
price of one cache round trip per check, and still bounds a flood. Staff are exempt.
"""

import time

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.utils.translation import gettext  # not `_`: a throwaway name below

from chat.errors import RateLimited


def parse_rate(text: str) -> tuple[int, int]:
    """'10/5' -> (10 messages, 5 seconds)."""
    count, seconds = text.split("/")
    return int(count), int(seconds)


def check_send(user) -> None:
    """Count one message for the user, or raise RateLimited (a refused attempt is
    counted too, which is what keeps a flooding client refused)."""
    _check(user, kind="send")


def check_upload(user) -> None:
    """Count one uploaded file for the user (CHAT_UPLOAD_*), like check_send."""
    _check(user, kind="upload")


def check_reaction(user) -> None:
    """Count one reaction change (add or remove) for the user, or raise RateLimited.

    Each change is broadcast to the whole room, like a message, so it is limited
    like one, on a budget of its own: reacting never uses up the budget for talking.
    """
    _check(user, kind="reaction")


def _too_fast(kind: str) -> str:
    # Whole sentences per kind, so that each translates naturally.
    if kind == "upload":
        return gettext(
            "You are uploading too fast (%(count)d files per %(seconds)d s); "
            "try again in %(retry)d s."
        )
    if kind == "reaction":
        return gettext(
            "You are reacting too fast (%(count)d changes per %(seconds)d "
            "s); try again in %(retry)d s."
        )
    return gettext(
        "You are sending too fast (%(count)d messages per %(seconds)d s); "
        "try again in %(retry)d s."
    )


async def check_send_async(user) -> None:
    """`check_send` from the event loop: with the Redis cache, one pipelined call on
    the loop's own Redis client instead of a thread hop; an in-process cache is
    counted in place (it does no I/O)."""
    if user.is_staff:
        return
    now = time.time()
    windows = _windows(kind="send", user_id=user.pk, now=now)
    keys = [(key, seconds + 1) for key, _, seconds, _ in windows]
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        from chat import loop_clients

        async with loop_clients.redis().pipeline(transaction=False) as pipe:
            for key, timeout in keys:
                full_key = backend.make_and_validate_key(key)
                pipe.incr(full_key)
                pipe.expire(full_key, timeout)
            done = (await pipe.execute())[::2]
    elif isinstance(backend, LocMemCache):
        done = [_increment(key, timeout=timeout) for key, timeout in keys]
    else:
        from chat.db_threads import in_db_thread

        done = await in_db_thread(_increment_all)(keys)
    _refuse_over_limit(kind="send", windows=windows, done=done, now=now)


def _windows(*, kind: str, user_id: int, now: float) -> list[tuple[str, int, int, int]]:
    """(cache key, allowed count, seconds, window number) of each of the kind's
    two windows at this moment."""
    windows = []
    for name in ("burst", "sustained"):
        rate = getattr(settings, f"CHAT_{kind.upper()}_{name.upper()}")
        count, seconds = parse_rate(rate)
        window = int(now // seconds)
        key = f"{kind}-rate:{name}:{user_id}:{window}"
        windows.append((key, count, seconds, window))
    return windows


def _check(user, *, kind: str) -> None:
    """Count one action of `kind` against CHAT_<KIND>_BURST and _SUSTAINED."""
    if user.is_staff:
        return
    now = time.time()
    windows = _windows(kind=kind, user_id=user.pk, now=now)
    done = _increment_all([(key, seconds + 1) for key, _, seconds, _ in windows])
    _refuse_over_limit(kind=kind, windows=windows, done=done, now=now)


def _refuse_over_limit(*, kind: str, windows, done: list[int], now: float) -> None:
    for (_, count, seconds, window), so_far in zip(windows, done, strict=True):
        if so_far > count:
            retry = int((window + 1) * seconds - now) + 1
            raise RateLimited(
                _too_fast(kind) % {"count": count, "seconds": seconds, "retry": retry},
                retry_after=retry,
            )


def _increment_all(keys: list[tuple[str, int]]) -> list[int]:
    """Add one to each (key, timeout) counter and return the new counts."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        # One round trip for every counter: this runs for every message sent, on the
        # thread that stores messages, and Django's incr() costs two per key
        # (EXISTS, then INCRBY). Uses the cache's own client and key prefix.
        client = backend._cache.get_client(write=True)
        with client.pipeline(transaction=False) as pipe:
            for key, timeout in keys:
                full_key = backend.make_and_validate_key(key)
                pipe.incr(full_key)
                pipe.expire(full_key, timeout)
            results = pipe.execute()
        return results[::2]
    return [_increment(key, timeout=timeout) for key, timeout in keys]


def _increment(key: str, *, timeout: int) -> int:
    # Any other cache: incr, or add when the window starts.
    try:
        return cache.incr(key)
    except ValueError:
        if cache.add(key, 1, timeout):
            return 1
        return cache.incr(key)
