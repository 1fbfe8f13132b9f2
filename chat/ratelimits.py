"""Flood control: how often a user may post, counted across sockets, REST and server
processes (in the cache, which is Redis when REDIS_URL is set).

Two fixed windows per user, a burst and a sustained rate, both settings. Fixed windows
let a user send up to twice a window's count across a window boundary; that is the
price of one cache round trip per check, and still bounds a flood. Staff are exempt.
"""

import time

from django.conf import settings
from django.core.cache import cache

from chat.errors import RateLimited


def parse_rate(text: str) -> tuple[int, int]:
    """'10/5' -> (10 messages, 5 seconds)."""
    count, seconds = text.split("/")
    return int(count), int(seconds)


def check_send(user) -> None:
    """Count one message for the user, or raise RateLimited (nothing is counted then
    beyond the refused attempt, which is what keeps a flooding client refused)."""
    if user.is_staff:
        return
    now = time.time()
    rates = {
        "burst": settings.CHAT_SEND_BURST,
        "sustained": settings.CHAT_SEND_SUSTAINED,
    }
    for name, rate in rates.items():
        count, seconds = parse_rate(rate)
        window = int(now // seconds)
        key = f"send-rate:{name}:{user.pk}:{window}"
        sent = _increment(key, timeout=seconds + 1)
        if sent > count:
            retry = int((window + 1) * seconds - now) + 1
            raise RateLimited(
                f"You are sending too fast ({count} messages per {seconds} s); "
                f"try again in {retry} s.",
                retry_after=retry,
            )


def _increment(key: str, *, timeout: int) -> int:
    # One round trip when the window exists (INCR on Redis), two when it starts.
    try:
        return cache.incr(key)
    except ValueError:
        if cache.add(key, 1, timeout):
            return 1
        return cache.incr(key)
