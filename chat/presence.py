"""Who is online in which room, across every server process, and how many sockets
each user holds.

Each subscribed socket is an entry (room, user, socket). With Redis the entries live
in one sorted set per room, scored by the moment they expire: every process refreshes
its own sockets' entries once a heartbeat, so the entries of a process that dies
expire within a few heartbeats and the next sweep announces the change. Without Redis
(the embedded single-process mode) the process's own registry is the whole truth.
Presence is ephemeral: it is never stored in the database. What reaches a socket,
and its catch-up, is chat.delivery's.
"""

import asyncio
import logging
import time
import weakref
from collections import defaultdict

from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import get_user_model

from chat import loop_clients, protocol
from chat.batching import Batcher
from chat.db_threads import in_db_thread
from chat.events import room_group_name

logger = logging.getLogger(__name__)

# Admit a socket if its user has fewer than the limit open (expired entries of dead
# processes do not count), atomically across server processes.
ADMIT_SOCKET = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""

# Several changes in a room within this many seconds make one `presence` broadcast:
# a reconnect storm of hundreds of sockets must not cost hundreds of room-wide frames.
# A second, not less: each broadcast to a 500-member room is 500 frames listing 500
# people, and at four a second they were a quarter of a reconnect storm's cost
# (docs/benchmarks.md); who is online a second late is still live to a person.
COALESCE_SECONDS = 1.0


def _entry_ttl() -> float:
    # A live socket refreshes every heartbeat; three missed refreshes mean it is gone.
    return 3 * settings.CHAT_HEARTBEAT_SECONDS + 5


class PresenceRegistry:
    """This process's sockets per room, mirrored to Redis when there is one."""

    def __init__(self):
        self.local: dict[int, set[tuple[int, str]]] = defaultdict(set)
        self.slugs: dict[int, str] = {}
        # Every open chat consumer of this process (for the per-user limit without
        # Redis, the refresh of its entries, and shutdown).
        self.consumers: weakref.WeakSet = weakref.WeakSet()
        self.pending_broadcasts: dict[int, asyncio.Task] = {}
        self.refresher: asyncio.Task | None = None
        # Entries of sockets that subscribe while a write is under way wait for the
        # next one, which writes them all (a storm's hundreds in a few pipelines).
        self.entry_writes = Batcher(self._write_entries)

    # ---- storage -----------------------------------------------------------------

    def _bind_loop(self) -> None:
        # A server runs one event loop for its whole life; tests run one per test.
        # State tied to a finished loop (its tasks, its Redis client) starts afresh.
        loop = asyncio.get_running_loop()
        if getattr(self, "loop", None) is not loop:
            self.loop = loop
            self.local.clear()
            self.consumers = weakref.WeakSet()
            self.pending_broadcasts.clear()
            self.refresher = None

    def _redis(self):
        self._bind_loop()
        return loop_clients.redis()

    @staticmethod
    def _key(room_id: int) -> str:
        return f"{settings.CHANNEL_LAYER_PREFIX}:presence:{room_id}"

    async def _user_ids(self, room_id: int) -> set[int]:
        if not settings.REDIS_URL:
            return {user_id for user_id, _ in self.local.get(room_id, ())}
        members = await self._redis().zrangebyscore(
            self._key(room_id), time.time(), "+inf"
        )
        return {int(member.split(b":", 1)[0]) for member in members}

    # ---- socket lifecycle --------------------------------------------------------

    async def connected(self, consumer, *, user_id: int) -> bool:
        """Register an open socket; False (and nothing registered) when the user
        already has CHAT_MAX_SOCKETS_PER_USER open, on any server process."""
        self._bind_loop()
        # The socket's own user is the one every presence frame of its rooms will
        # list: known here, it is never read from the database for them.
        _remember([protocol.user_object(consumer.user)])
        limit = settings.CHAT_MAX_SOCKETS_PER_USER
        if settings.REDIS_URL:
            now = time.time()
            admitted = await loop_clients.run_script(
                ADMIT_SOCKET,
                [self._sockets_key(user_id)],
                [
                    now,
                    now + _entry_ttl(),
                    limit,
                    consumer.socket_name,
                    int(_entry_ttl()) + 1,
                ],
            )
            if not admitted:
                return False
            self._ensure_refresher()
        elif sum(1 for c in self.consumers if c.user.pk == user_id) >= limit:
            return False
        self.consumers.add(consumer)
        return True

    async def disconnected(self, consumer) -> None:
        self.consumers.discard(consumer)
        if settings.REDIS_URL:
            await self._redis().zrem(
                self._sockets_key(consumer.user.pk), consumer.socket_name
            )

    @staticmethod
    def _sockets_key(user_id: int) -> str:
        return f"{settings.CHANNEL_LAYER_PREFIX}:sockets:{user_id}"

    async def enter(self, *, room_id: int, room_slug: str, user_id: int, socket: str):
        self._bind_loop()
        self.local[room_id].add((user_id, socket))
        self.slugs[room_id] = room_slug
        if settings.REDIS_URL:
            await self._add_entry(room_id, f"{user_id}:{socket}")
            self._ensure_refresher()
        self.schedule_broadcast(room_id)

    async def _add_entry(self, room_id: int, member: str) -> None:
        """Write the entry to Redis, with the others of sockets entering meanwhile;
        returns once it is written (the subscriber then reads the room's list)."""
        await self.entry_writes.submit((room_id, member, time.time() + _entry_ttl()))

    async def _write_entries(self, entries) -> list:
        by_room: dict[int, dict[str, float]] = defaultdict(dict)
        for room_id, member, expiry in entries:
            by_room[room_id][member] = expiry
        async with self._redis().pipeline(transaction=False) as pipe:
            for room_id, members in by_room.items():
                key = self._key(room_id)
                pipe.zadd(key, members)
                # The room's key goes too once no process refreshes it.
                pipe.expire(key, int(_entry_ttl()) + 1)
            await pipe.execute()
        return [None] * len(entries)

    async def leave(self, *, room_id: int, user_id: int, socket: str) -> None:
        self._bind_loop()
        sockets = self.local.get(room_id)
        if sockets is not None:
            sockets.discard((user_id, socket))
            if not sockets:
                del self.local[room_id]
        if settings.REDIS_URL:
            await self._redis().zrem(self._key(room_id), f"{user_id}:{socket}")
        self.schedule_broadcast(room_id)

    # ---- reads -------------------------------------------------------------------

    async def online(self, room_id: int) -> list[dict]:
        """The online members of a room as user objects, ordered by username."""
        user_ids = await self._user_ids(room_id)
        found, missing = _cached_user_objects(user_ids)
        if missing:
            found += await in_db_thread(_user_objects)(missing)
        return sorted(found, key=_by_username)

    async def frame(self, room_id: int, room_slug: str) -> dict:
        return {
            "type": "presence",
            "room": room_slug,
            "online": await self.online(room_id),
        }

    async def frame_for_subscriber(self, room_id: int, room_slug: str) -> dict | None:
        """The frame a socket that just subscribed gets, or None when the room's
        next broadcast, which it will receive within COALESCE_SECONDS, is already
        scheduled: in a reconnect storm every subscriber would otherwise read and
        encode the whole room's list once more."""
        if room_id in self.pending_broadcasts:
            return None
        return await self.frame(room_id, room_slug)

    # ---- broadcasting ------------------------------------------------------------

    def schedule_broadcast(self, room_id: int) -> None:
        if room_id not in self.pending_broadcasts:
            self.pending_broadcasts[room_id] = asyncio.get_running_loop().create_task(
                self._broadcast_soon(room_id)
            )

    async def _broadcast_soon(self, room_id: int) -> None:
        try:
            await asyncio.sleep(COALESCE_SECONDS)
        finally:
            self.pending_broadcasts.pop(room_id, None)
        frame = await self.frame(room_id, self.slugs[room_id])
        await get_channel_layer().group_send(
            room_group_name(room_id),
            {
                "type": "chat.presence",
                "room_id": room_id,
                "frame": protocol.encode(frame),
            },
        )

    # ---- expiry ------------------------------------------------------------------

    def _ensure_refresher(self) -> None:
        if self.refresher is None or self.refresher.done():
            self.refresher = asyncio.get_running_loop().create_task(
                self._refresh_forever()
            )

    async def _refresh_forever(self) -> None:
        # One task per process, not one per socket.
        while self.local or self.consumers:
            await asyncio.sleep(settings.CHAT_HEARTBEAT_SECONDS)
            try:
                await self.refresh_and_sweep()
            except Exception:
                # Redis may be restarting: try again next heartbeat, never give up.
                logger.warning("presence refresh failed", exc_info=True)

    async def refresh_and_sweep(self) -> None:
        """Extend this process's entries; drop expired ones and announce the change."""
        rooms = [(room_id, set(sockets)) for room_id, sockets in self.local.items()]
        now = time.time()
        expiry = now + _entry_ttl()
        async with self._redis().pipeline(transaction=False) as pipe:
            # Keep this process's sockets counted towards their users' limits.
            for consumer in list(self.consumers):
                key = self._sockets_key(consumer.user.pk)
                pipe.zadd(key, {consumer.socket_name: expiry}, xx=True)
                pipe.expire(key, int(_entry_ttl()) + 1)
            await pipe.execute()
        if not rooms:
            return
        async with self._redis().pipeline(transaction=False) as pipe:
            for room_id, sockets in rooms:
                key = self._key(room_id)
                expiry = now + _entry_ttl()
                pipe.zadd(key, {f"{u}:{c}": expiry for u, c in sockets}, xx=True)
                pipe.zremrangebyscore(key, "-inf", now)
                pipe.expire(key, int(_entry_ttl()) + 1)
            results = await pipe.execute()
        for (room_id, _), removed in zip(rooms, results[1::3], strict=True):
            if removed:
                self.schedule_broadcast(room_id)


# User objects of people online, kept per process for a minute: every subscribe to
# a room of hundreds would otherwise read hundreds of users from the database (in a
# subscribe storm that was half the server's time). A renamed user shows under the
# old name in presence lists for at most this long.
USER_CACHE_SECONDS = 60.0
USER_CACHE_MAX = 100_000
_user_cache: dict[int, tuple[float, dict]] = {}


def _by_username(user_object: dict) -> str:
    return user_object["username"]


def _cached_user_objects(user_ids: set[int]) -> tuple[list[dict], list[int]]:
    now = time.monotonic()
    found, missing = [], []
    for user_id in user_ids:
        hit = _user_cache.get(user_id)
        if hit is not None and hit[0] > now:
            found.append(hit[1])
        else:
            missing.append(user_id)
    return found, missing


def _user_objects(user_ids) -> list[dict]:
    """Read users from the database (and remember them), ordered by username."""
    if not user_ids:
        return []
    users = get_user_model().objects.filter(pk__in=user_ids).order_by("username")
    objects = [protocol.user_object(user) for user in users.only("id", "username")]
    _remember(objects)
    return objects


def _remember(user_objects: list[dict]) -> None:
    if len(_user_cache) > USER_CACHE_MAX:
        _user_cache.clear()
    expires = time.monotonic() + USER_CACHE_SECONDS
    for user_object in user_objects:
        _user_cache[user_object["id"]] = (expires, user_object)


registry = PresenceRegistry()


def online_users(*, room_id: int) -> list[dict]:
    """Synchronous read for the REST API."""
    if not settings.REDIS_URL:
        return _user_objects(
            {user_id for user_id, _ in registry.local.get(room_id, ())}
        )
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        key = PresenceRegistry._key(room_id)
        members = client.zrangebyscore(key, time.time(), "+inf")
    finally:
        client.close()
    return _user_objects({int(member.split(b":", 1)[0]) for member in members})
