"""Flood control: how often a user may post, upload files and react, counted across
sockets, REST and server processes (in Redis when REDIS_URL is set, else in this
process's cache). Staff are exempt.

Each kind has two limits, a burst and a sustained rate (settings, "count/seconds"),
each a GCRA token bucket kept as one timestamp per user: count per seconds means one
action every seconds/count on average, and up to count at once after a quiet spell.
Unlike fixed windows aligned to the clock, no window edge lets a user act twice a
limit in a row. A refused attempt spends nothing, so `retry_after` is exact: the
first whole second at which the same action is accepted (a client that keeps trying
anyway is closed by the socket's flood rule, 4429).
"""

import math
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.utils.translation import gettext  # not `_`: a throwaway name below

from chat.errors import RateLimited

# The clock the limits run on, in seconds (a name of its own so that tests can move
# it). Processes on several machines must agree on it (NTP): a skew shifts one
# user's budget by at most the skew.
clock = time.time

# One round trip per check: reads and advances every limit's theoretical arrival
# time (TAT) atomically, so concurrent sends over several processes cannot both take
# the last unit. KEYS: one TAT key per limit. ARGV: now, then (interval, period) per
# limit, all in whole microseconds (below 2**53: exact in Lua's numbers). Returns 0
# when every limit allows the action (and spends it), else {index of the limit
# waited for longest (1-based), microseconds to wait}. `_decide` is the same
# arithmetic in Python, for the in-process cache: keep the two in step.
GCRA_SCRIPT = """
local now = tonumber(ARGV[1])
local tats = {}
local worst, worst_wait = 0, 0
for i = 1, #KEYS do
  local interval = tonumber(ARGV[2 * i])
  local period = tonumber(ARGV[2 * i + 1])
  local tat = math.max(tonumber(redis.call('GET', KEYS[i]) or '0'), now)
  local wait = tat + interval - period - now
  if wait > worst_wait then
    worst, worst_wait = i, wait
  end
  tats[i] = tat + interval
end
if worst > 0 then
  return {worst, worst_wait}
end
for i = 1, #KEYS do
  -- At least a millisecond: a rate faster than one a microsecond spends nothing.
  local ttl_ms = math.max(1, math.ceil((tats[i] - now) / 1000))
  redis.call('SET', KEYS[i], string.format('%d', tats[i]), 'PX', ttl_ms)
end
return 0
"""

MICROSECONDS = 1_000_000

# The in-process cache is read and written under this lock, which makes a check
# atomic within the process (all that an in-memory cache spans).
_in_process_lock = threading.Lock()


def parse_rate(text: str) -> tuple[int, int]:
    """'10/5' -> (10 messages, 5 seconds)."""
    count, seconds = text.split("/")
    return int(count), int(seconds)


def check_send(user) -> None:
    """Spend one message of the user's send budget, or raise RateLimited."""
    _check(user, kind="send")


def check_upload(user) -> None:
    """Spend one uploaded file (CHAT_UPLOAD_*), like check_send."""
    _check(user, kind="upload")


def check_reaction(user) -> None:
    """Spend one reaction change (add or remove), or raise RateLimited.

    Each change is broadcast to the whole room, like a message, so it is limited
    like one, on a budget of its own: reacting never uses up the budget for talking.
    """
    _check(user, kind="reaction")


async def check_send_async(user) -> None:
    """`check_send` from the event loop: with the Redis cache, the script on the
    loop's own Redis client instead of a thread hop (checks asked while others are
    under way go together in one pipeline); an in-process cache is checked in place
    (it does no I/O)."""
    if user.is_staff:
        return
    limits = _limits(kind="send", user_id=user.pk)
    now = _now_microseconds()
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        from chat import loop_clients

        answer = await loop_clients.run_script(
            GCRA_SCRIPT, *_script_arguments(backend, limits, now)
        )
        refusal = _refusal_from_script(answer)
    elif isinstance(backend, LocMemCache):
        refusal = _spend_in_process(backend, limits, now)
    else:
        from chat.db_threads import in_db_thread

        refusal = await in_db_thread(_spend_in_process)(backend, limits, now)
    _raise_if_refused(kind="send", limits=limits, refusal=refusal)


@dataclass(frozen=True)
class _Limit:
    """One bucket: `count` actions per `seconds`, its TAT kept under `key`."""

    key: str
    count: int
    seconds: int

    @property
    def period(self) -> int:
        return self.seconds * MICROSECONDS

    @property
    def interval(self) -> int:
        # Rounded down: at most a microsecond in the user's favour per action.
        return self.period // self.count


def _limits(*, kind: str, user_id: int) -> list[_Limit]:
    limits = []
    for name in ("burst", "sustained"):
        count, seconds = parse_rate(
            getattr(settings, f"CHAT_{kind.upper()}_{name.upper()}")
        )
        key = f"{kind}-rate:{name}:{user_id}"
        limits.append(_Limit(key=key, count=count, seconds=seconds))
    return limits


def _now_microseconds() -> int:
    return int(clock() * MICROSECONDS)


def _check(user, *, kind: str) -> None:
    """Spend one action of `kind` against CHAT_<KIND>_BURST and _SUSTAINED."""
    if user.is_staff:
        return
    limits = _limits(kind=kind, user_id=user.pk)
    now = _now_microseconds()
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        # The cache's server and key prefix; EVALSHA, loading the script first only
        # when this Redis has not seen it yet.
        script = _sync_script(settings.CACHES["default"]["LOCATION"])
        refusal = _refusal_from_script(script(*_script_arguments(backend, limits, now)))
    else:
        refusal = _spend_in_process(backend, limits, now)
    _raise_if_refused(kind=kind, limits=limits, refusal=refusal)


# The send-rate script, registered once per Redis client: on each event loop's
# client (chat.loop_clients) and on one thread-safe client per cache location (a
# client of our own: the cache backend keeps its client private).
_sync_scripts: dict[str, object] = {}
_sync_scripts_lock = threading.Lock()


def _sync_script(location: str | list[str]):
    # Django's RedisCache writes to the first of several servers.
    url = location if isinstance(location, str) else location[0]
    url = url.split(",")[0]
    with _sync_scripts_lock:
        script = _sync_scripts.get(url)
        if script is None:
            import redis

            client = redis.Redis.from_url(url, socket_timeout=15)
            script = _sync_scripts[url] = client.register_script(GCRA_SCRIPT)
        return script


def _script_arguments(backend, limits: list[_Limit], now: int):
    keys = [backend.make_and_validate_key(limit.key) for limit in limits]
    args = [now]
    for limit in limits:
        args += [limit.interval, limit.period]
    return keys, args


def _refusal_from_script(answer) -> tuple[int, int] | None:
    if answer == 0:
        return None
    index, wait = answer
    return int(index) - 1, int(wait)


def _spend_in_process(backend, limits: list[_Limit], now: int):
    with _in_process_lock:
        stored = backend.get_many([limit.key for limit in limits])
        refusal, tats = _decide(
            now, [(stored.get(limit.key, 0), limit) for limit in limits]
        )
        if refusal is None:
            for limit, tat in zip(limits, tats, strict=True):
                # At least a second: a timeout of 0 would not store it at all.
                timeout = max(1, math.ceil((tat - now) / 1e6))
                backend.set(limit.key, tat, timeout=timeout)
    return refusal


def _decide(now: int, states: list[tuple[int, _Limit]]):
    """GCRA_SCRIPT's arithmetic: (None, new TATs) when every limit allows the
    action, else ((index of the limit waited for longest, microseconds), [])."""
    worst, worst_wait, tats = None, 0, []
    for index, (stored, limit) in enumerate(states):
        tat = max(stored, now)
        wait = tat + limit.interval - limit.period - now
        if wait > worst_wait:
            worst, worst_wait = index, wait
        tats.append(tat + limit.interval)
    if worst is not None:
        return (worst, worst_wait), []
    return None, tats


def _raise_if_refused(*, kind: str, limits: list[_Limit], refusal) -> None:
    if refusal is None:
        return
    index, wait = refusal
    limit = limits[index]
    retry = max(1, math.ceil(wait / MICROSECONDS))
    raise RateLimited(
        _too_fast(kind)
        % {"count": limit.count, "seconds": limit.seconds, "retry": retry},
        retry_after=retry,
    )


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
