"""This process's one subscription to the channel layer, shared by all its sockets.

Each process has one layer channel. It joins a room's group when its first local
socket subscribes to the room and leaves it when the last one goes, and the same for
each user with a socket here; every event therefore arrives once per process, is
decoded once, its frame is built once (chat.delivery.frames), and the hub offers it
to the local sockets of its room or user (chat.delivery.sockets). A socket that
fails is closed; the others still get the event.

Also here, because they are about what this process's sockets were given: the
catch-up check (a broadcast lost before a quiet spell) and the periodic re-adding of
the process's channel to its groups (the core Redis layer expires group entries of
a process that died).
"""

import asyncio
import contextlib
import logging
import time

from channels.layers import get_channel_layer
from django.conf import settings

from chat import metrics, selectors
from chat.db_threads import in_db_thread
from chat.delivery.frames import Wire
from chat.delivery.sockets import CATCH_UP, SocketDelivery
from chat.events import room_group_name, user_group_name

logger = logging.getLogger(__name__)

# Which local sockets an event is for: those in its room, or those of its user.
ROOM_EVENTS = {
    "chat.message.created",
    "chat.message.changed",
    "chat.typing",
    "chat.presence",
}
USER_EVENTS = {
    "chat.user.deactivated",
    "chat.room.removed",
    "chat.notify",
    "chat.mention",
}
# A receive that failed (the layer lost Redis) is retried after this long.
RECEIVE_RETRY_SECONDS = 1.0


def _group_refresh_seconds() -> float:
    # A third of the layer's group expiry: two refreshes may fail before it matters.
    expiry = (
        settings.CHANNEL_LAYERS["default"].get("CONFIG", {}).get("group_expiry", 86400)
    )
    return expiry / 3


class Hub:
    """One event loop's layer channel, its groups and the sockets behind them."""

    def __init__(self):
        self.layer = get_channel_layer()
        self.channel: str | None = None
        self.sockets: set[SocketDelivery] = set()
        self.rooms: dict[int, set[SocketDelivery]] = {}
        self.users: dict[int, set[SocketDelivery]] = {}
        self.groups: set[str] = set()  # groups the channel is in
        # Joining and leaving one group are serialised, so that a leave and a join
        # that overlap end in the state of the last one: group -> [lock, users].
        self.group_locks: dict[str, list] = {}
        self.start_lock = asyncio.Lock()
        self.receiver: asyncio.Task | None = None
        self.keeper: asyncio.Task | None = None
        # Each room's newest message id as read at the previous catch-up check.
        self.newest_before: dict[int, int] = {}
        self.groups_refreshed_at = time.monotonic()

    # ---- sockets -----------------------------------------------------------------

    async def attach(self, socket: SocketDelivery, *, user_id: int) -> None:
        """Deliver the user's events to the socket from now on."""
        socket.user_id = user_id
        self.sockets.add(socket)
        try:
            await self._start()
            await self._join(self.users, user_id, user_group_name(user_id), socket)
        except BaseException:
            self.sockets.discard(socket)
            raise

    async def detach(self, socket: SocketDelivery) -> None:
        """Stop delivering anything to the socket (whatever ended it)."""
        socket.closed = True
        try:
            for room_id in list(socket.rooms_joined):
                try:
                    await self.leave_room(socket, room_id)
                except Exception:
                    # The layer is away: the socket is forgotten here all the same
                    # (nothing reaches it), and the rest of its groups are left.
                    logger.warning("leaving room %s failed", room_id, exc_info=True)
            if socket.user_id is not None:
                await self._leave(
                    self.users, socket.user_id, user_group_name(socket.user_id), socket
                )
        finally:
            self.sockets.discard(socket)
            if not self.sockets:
                self._stop()

    async def join_room(self, socket: SocketDelivery, room_id: int) -> None:
        """The room's events reach the socket from when this returns."""
        if room_id in socket.rooms_joined:
            return
        socket.rooms_joined.add(room_id)
        try:
            await self._join(self.rooms, room_id, room_group_name(room_id), socket)
        except BaseException:
            socket.rooms_joined.discard(room_id)
            raise

    async def leave_room(self, socket: SocketDelivery, room_id: int) -> None:
        socket.subscriptions.pop(room_id, None)
        if room_id in socket.rooms_joined:
            socket.rooms_joined.discard(room_id)
            await self._leave(self.rooms, room_id, room_group_name(room_id), socket)

    # ---- groups --------------------------------------------------------------------

    async def _join(self, table: dict, key: int, group: str, socket) -> None:
        table.setdefault(key, set()).add(socket)
        try:
            async with self._group_lock(group):
                if group not in self.groups:
                    await self.layer.group_add(group, self.channel)
                    self.groups.add(group)
        except BaseException:
            self._forget(table, key, socket)
            raise

    async def _leave(self, table: dict, key: int, group: str, socket) -> None:
        self._forget(table, key, socket)
        async with self._group_lock(group):
            if key not in table and group in self.groups:
                self.groups.discard(group)
                await self.layer.group_discard(group, self.channel)

    @staticmethod
    def _forget(table: dict, key: int, socket) -> None:
        members = table.get(key)
        if members is not None:
            members.discard(socket)
            if not members:
                del table[key]

    @contextlib.asynccontextmanager
    async def _group_lock(self, group: str):
        entry = self.group_locks.setdefault(group, [asyncio.Lock(), 0])
        entry[1] += 1
        try:
            async with entry[0]:
                yield
        finally:
            entry[1] -= 1
            if not entry[1]:
                del self.group_locks[group]  # nobody holds or waits for it

    async def refresh_groups(self) -> None:
        """Re-add the channel to its groups before the layer expires it (core layer)."""
        self.groups_refreshed_at = time.monotonic()
        for group in list(self.groups):
            await self.layer.group_add(group, self.channel)

    # ---- receiving -----------------------------------------------------------------

    async def _start(self) -> None:
        async with self.start_lock:
            if self.channel is None:
                self.channel = await self.layer.new_channel()
            loop = asyncio.get_running_loop()
            if self.receiver is None or self.receiver.done():
                self.receiver = loop.create_task(self._receive_forever())
                # Let the receive begin before anything joins a group: the pub/sub
                # layer accepts group_add only for a channel already being received
                # in this process, which its receive registers before it first waits.
                await asyncio.sleep(0)
            if self.keeper is None or self.keeper.done():
                self.keeper = loop.create_task(self._keep_forever())

    def _stop(self) -> None:
        # No socket left: no task outlives the last one (a test's loop then ends
        # with nothing pending). The pub/sub layer unsubscribes a cancelled receive.
        for task in (self.receiver, self.keeper):
            if task is not None:
                task.cancel()
        self.receiver = self.keeper = None

    async def _receive_forever(self) -> None:
        while True:
            try:
                event = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("the channel layer failed to deliver", exc_info=True)
                await asyncio.sleep(RECEIVE_RETRY_SECONDS)
                continue
            try:
                self.fan_out(event)
            except Exception:
                # A malformed event (say, from a server of another version during
                # a rolling deploy) must not stop this process's deliveries.
                logger.exception("an event could not be delivered: %r", event)

    def fan_out(self, event: dict) -> None:
        """Offer an event to every local socket it is for."""
        kind = event.get("type")
        if kind in ROOM_EVENTS:
            sockets = self.rooms.get(event["room_id"])
        elif kind in USER_EVENTS:
            sockets = self.users.get(event["user_id"])
        else:
            logger.warning("an event nobody handles: %r", kind)
            return
        if not sockets:
            return
        frame = event.get("frame")
        wire = None
        if frame is not None:
            # Built once for every socket here, those that take the event later from
            # their inbox included (each would otherwise encode and compress again).
            wire = event["wire"] = Wire(frame)
        for socket in tuple(sockets):
            try:
                socket.offer(event, wire)
            except Exception:
                # The socket's state is now unknown: it is closed (the client comes
                # back with `since`), and the others still get the event.
                logger.exception("delivery to socket %s failed", socket.name)
                metrics.delivery_failures.inc()
                socket.closed = True
                socket.enqueue({"type": "chat.delivery.failed"})

    # ---- upkeep --------------------------------------------------------------------

    async def _keep_forever(self) -> None:
        while True:
            await asyncio.sleep(settings.CHAT_CATCH_UP_SECONDS)
            try:
                await self.catch_up_lagging_sockets()
            except Exception:
                logger.warning("catch-up check failed", exc_info=True)
            if time.monotonic() - self.groups_refreshed_at >= _group_refresh_seconds():
                try:
                    await self.refresh_groups()
                except Exception:
                    # Redis may be restarting: try again at the next check.
                    logger.warning("group refresh failed", exc_info=True)

    async def catch_up_lagging_sockets(self) -> None:
        """Ask every socket still behind a message that was already its room's newest
        at the previous check to read the rest from the database.

        Live delivery repairs a lost broadcast when the next event's `prev_id`
        reveals it; this covers the last broadcasts before a quiet spell (the pub/sub
        layer drops what is published while a process is cut off from Redis). A
        message committed since the previous check may still be on its way, so only
        older ones count: on the normal path this sends nothing."""
        room_ids = set(self.rooms)
        newest_before, self.newest_before = self.newest_before, {}
        if not room_ids:
            return
        self.newest_before = await in_db_thread(selectors.rooms_last_message_ids)(
            room_ids=room_ids
        )
        for room_id, sockets in list(self.rooms.items()):
            last_id = newest_before.get(room_id, 0)
            for socket in tuple(sockets):
                subscription = socket.subscriptions.get(room_id)
                if subscription is not None and subscription.cursor < last_id:
                    socket.enqueue(
                        {"type": CATCH_UP, "room_id": room_id, "last_id": last_id}
                    )


_hubs: dict[asyncio.AbstractEventLoop, Hub] = {}


def hub() -> Hub:
    """The running loop's hub (a server has one loop; a test one per test)."""
    loop = asyncio.get_running_loop()
    found = _hubs.get(loop)
    if found is None:
        for closed in [loop for loop in _hubs if loop.is_closed()]:
            del _hubs[closed]
        found = _hubs[loop] = Hub()
    return found
