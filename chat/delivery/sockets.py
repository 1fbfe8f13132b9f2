"""One socket's side of delivery: what it was given of each room, and in what order.

The hub offers every event of the socket's rooms and user. An event the socket can
take as it is (the next message of a room it is up to date in, a relay of a room it
holds) is written at once, from the hub, with no task switch. Everything else waits
in the socket's inbox for the consumer's task, in arrival order: events that need
the database (a gap to fill), that need the consumer (the room was taken away, the
session ended), and every event that arrives while earlier ones still wait or while
the socket writes history (a replay, a repair), so that nothing overtakes.
"""

import asyncio
import contextlib
import logging
from collections import deque
from dataclasses import dataclass

from django.conf import settings

from chat import history_pages, metrics
from chat.delivery.frames import Wire
from chat.models import Room

logger = logging.getLogger(__name__)

MESSAGE_CREATED = "chat.message.created"
CATCH_UP = "chat.catch.up"
# Relayed as they are to the sockets subscribed to the event's room.
ROOM_RELAYS = {"chat.message.changed", "chat.typing", "chat.presence"}
# Relayed as they are to every socket of the event's user.
USER_RELAYS = {"chat.notify", "chat.mention"}
# What an inbox past its limit drops: messages come back from the database through
# the next event's `prev_id` or the catch-up check; the rest is ephemeral or is read
# again on reconnect. Endings of the socket itself are never dropped.
DROPPABLE = {MESSAGE_CREATED, *ROOM_RELAYS, *USER_RELAYS}

# Gap repair reads history in pages of this size.
HISTORY_BATCH = 500


def wire_of(event: dict) -> Wire:
    """The event's frame as the hub built it for every local socket, or built now
    (an event that did not come through the hub: the sender's own, unbroadcast)."""
    wire = event.get("wire")
    return wire if wire is not None else Wire(event["frame"])


class Inbox:
    """What a socket's consumer task reads, first in first out: the hub's events
    that wait for it (SocketDelivery, which limits them) and what the server
    receives from the client (chat.consumers.read_client). What asyncio.Queue does
    for one reader, without its
    four deques and Event per socket (about 2 KiB each, with thousands of idle
    sockets): one deque, and a future only while the task waits."""

    __slots__ = ("events", "waiter")

    def __init__(self):
        self.events: deque = deque()
        self.waiter: asyncio.Future | None = None

    def put_nowait(self, event: dict) -> None:
        self.events.append(event)
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> dict:
        while not self.events:
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None
        return self.events.popleft()

    def get_nowait(self) -> dict:
        return self.events.popleft()

    def empty(self) -> bool:
        return not self.events


@dataclass(slots=True)
class Subscription:
    room: Room
    # The id of the newest message of the room this socket has been given (or has
    # been told about through `subscribed.last_id`). Live events at or below it are
    # duplicates; an event whose `prev_id` is above it reveals a gap to fill.
    cursor: int


class SocketDelivery:
    """The delivery state of one socket; every frame it gets goes through `writer`."""

    def __init__(self, *, name: str, writer):
        self.name = name  # unique across processes (presence, typing's sender)
        self.writer = writer
        self.user_id: int | None = None
        self.subscriptions: dict[int, Subscription] = {}  # by room id
        self.rooms_joined: set[int] = set()  # in the hub, subscribed or subscribing
        self.inbox = Inbox()
        # Events put in the inbox and not yet handled by the consumer's task: while
        # any is left, later events queue behind it.
        self.queued = 0
        # Sections of the consumer's task that write a room's history (a replay, a
        # repair) with awaits in between: live events wait until they end.
        self.holds = 0
        self.closed = False

    # ---- from the hub ------------------------------------------------------------

    def offer(self, event: dict, wire: Wire | None) -> None:
        """An event of one of this socket's rooms or of its user (called by the hub
        for every local socket in turn: never awaits, never raises on purpose)."""
        if self.closed:
            return
        if self.queued or self.holds or not self.take_now(event, wire):
            self.enqueue(event)

    def take_now(self, event: dict, wire: Wire | None) -> bool:
        """Deliver the event now if no database work or consumer decision is needed;
        False when it must wait for the consumer's task."""
        kind = event["type"]
        if kind == MESSAGE_CREATED:
            subscription = self.subscriptions.get(event["room_id"])
            if subscription is None or event["id"] <= subscription.cursor:
                return True  # not subscribed, or already given: nothing to send
            if event["prev_id"] != subscription.cursor:
                return False  # a gap: the consumer's task reads it first
            self.write_live(subscription, event, wire)
            metrics.direct_fanout.inc()
            return True
        if kind in ROOM_RELAYS:
            if self.wants_relay(event):
                self.writer.write(wire)
            return True
        if kind in USER_RELAYS:
            self.writer.write(wire)
            return True
        return False

    def enqueue(self, event: dict) -> None:
        if self.queued >= settings.CHAT_SOCKET_INBOX_LIMIT and (
            event["type"] in DROPPABLE
        ):
            metrics.inbox_overflows.inc()
            return
        self.queued += 1
        self.inbox.put_nowait(event)

    # ---- on the consumer's task ----------------------------------------------------

    async def handle(self, event: dict) -> bool:
        """Handle an inbox event that is delivery's own; False for the consumer's."""
        kind = event["type"]
        if kind == MESSAGE_CREATED:
            subscription = self.subscriptions.get(event["room_id"])
            if subscription is not None:
                await self.deliver_live(subscription, event)
            return True
        if kind == CATCH_UP:
            # The hub noticed the socket is behind its room: a broadcast was lost
            # and no later event revealed the gap.
            subscription = self.subscriptions.get(event["room_id"])
            if subscription is not None and subscription.cursor < event["last_id"]:
                metrics.layer_gaps_repaired.inc()
                await self.deliver_from_history(subscription, up_to_id=event["last_id"])
            return True
        if kind in ROOM_RELAYS:
            if self.wants_relay(event):
                self.writer.write(wire_of(event))
            return True
        if kind in USER_RELAYS:
            self.writer.write(wire_of(event))
            return True
        return False

    def handled(self) -> None:
        """The consumer's task is done with one inbox event."""
        self.queued -= 1

    @contextlib.contextmanager
    def holding(self):
        """Live events wait while the body writes a room's history."""
        self.holds += 1
        try:
            yield
        finally:
            self.holds -= 1

    async def start(self, room: Room, *, last_id: int, since: int | None) -> bool:
        """Start (or restart) delivering a room after `subscribed.last_id`; with
        `since`, replay what came after it first. Call while holding, after joining
        the room in the hub. True when the replay stopped at its limit."""
        current = self.subscriptions.get(room.pk)
        if since is None:
            # No replay asked: live delivery starts after last_id, except that an
            # existing subscription keeps delivering what is already on its way.
            cursor = current.cursor if current is not None else last_id
            self.subscriptions[room.pk] = Subscription(room=room, cursor=cursor)
            return False
        limit = settings.CHAT_REPLAY_LIMIT
        page = await history_pages.page_after(
            room_id=room.pk,
            room_slug=room.slug,
            after_id=since,
            up_to_id=last_id,
            limit=limit + 1,
        )
        wires = page.wires(replay=True)[:limit]
        for wire in wires:
            self.writer.write(wire)
        metrics.delivered_replay.inc(len(wires))
        self.subscriptions[room.pk] = Subscription(room=room, cursor=last_id)
        return len(page.ids) > limit

    async def deliver_live(self, subscription: Subscription, event: dict) -> None:
        """Send a new message once, in id order, after any message it follows."""
        if event["id"] <= subscription.cursor:
            return  # already delivered (a replay, a repair, or our own ack)
        if event["prev_id"] > subscription.cursor:
            # Something between our cursor and this message did not reach us (the
            # layer dropped it, or another process's broadcast is still on its way):
            # fetch it from the database so delivery stays gapless and in order.
            metrics.layer_gaps_repaired.inc()
            await self.deliver_from_history(subscription, up_to_id=event["prev_id"])
        self.write_live(subscription, event, wire_of(event))

    def write_live(self, subscription: Subscription, event: dict, wire: Wire) -> None:
        self.writer.write(wire)
        subscription.cursor = event["id"]
        metrics.delivered_live.inc()
        metrics.broadcast_latency.observe_since(event.get("sent_at"))

    async def deliver_from_history(
        self, subscription: Subscription, *, up_to_id: int
    ) -> None:
        """Everything after the cursor up to `up_to_id`, from the database, in order
        (a repair: not asked for with `since`)."""
        with self.holding():
            while subscription.cursor < up_to_id:
                page = await history_pages.page_after(
                    room_id=subscription.room.pk,
                    room_slug=subscription.room.slug,
                    after_id=subscription.cursor,
                    up_to_id=up_to_id,
                    limit=HISTORY_BATCH,
                )
                for wire in page.wires(replay=False):
                    self.writer.write(wire)
                metrics.delivered_repair.inc(len(page.ids))
                if len(page.ids) < HISTORY_BATCH:
                    subscription.cursor = up_to_id
                else:
                    subscription.cursor = page.ids[-1]

    def wants_relay(self, event: dict) -> bool:
        return event["room_id"] in self.subscriptions and (
            event.get("sender") != self.name
        )
