"""Helpers that read the real channel layer directly, as a test's eyes on it.

With the pub/sub layer (the default with Redis) a subscription belongs to one event
loop of one process, so a synchronous test listens from a thread that keeps its own
loop running, and another process's group members are not visible at all: tests of
several processes ask Redis how many processes still subscribe to a group.
"""

import asyncio
import queue
import threading

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.conf import settings

EVENT_TIMEOUT_SECONDS = 10


class Listener:
    """A channel in a group, read on a loop of its own (for synchronous tests)."""

    def __init__(self, group: str):
        self.events: queue.Queue = queue.Queue()
        self.ready = threading.Event()
        self.loop = asyncio.new_event_loop()
        self.failure: BaseException | None = None
        threading.Thread(target=self.loop.run_until_complete, args=(self.run(group),),
                         daemon=True).start()  # fmt: skip
        assert self.ready.wait(EVENT_TIMEOUT_SECONDS), "the listener did not start"
        if self.failure is not None:
            raise self.failure

    async def run(self, group: str) -> None:
        layer = get_channel_layer()
        try:
            channel = await layer.new_channel()
            await layer.group_add(group, channel)
        except BaseException as error:
            self.failure = error
            self.ready.set()
            return
        self.ready.set()
        while True:
            self.events.put(await layer.receive(channel))

    def next_event(self) -> dict:
        return self.events.get(timeout=EVENT_TIMEOUT_SECONDS)


def listen(group: str) -> Listener | str:
    """Start listening to a group; read with next_event (synchronous tests)."""
    if isinstance(get_channel_layer(), RedisPubSubChannelLayer):
        return Listener(group)
    # The core and in-memory layers keep channels outside any one loop: a channel
    # made on one async_to_sync loop can be read on the next.
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(group, channel)
    return channel


def next_event(listener: Listener | str) -> dict:
    if isinstance(listener, Listener):
        return listener.next_event()
    return async_to_sync(get_channel_layer().receive)(listener)


async def group_members(group: str) -> set:
    """The channels of this process in a group, from the layer's own storage."""
    layer = get_channel_layer()
    if isinstance(layer, RedisPubSubChannelLayer):
        inner = layer._get_layer()
        return set(inner.groups.get(inner._get_group_channel_name(group), ()))
    if hasattr(layer, "groups"):  # the in-memory layer
        return set(layer.groups.get(group, {}))
    connection = layer.connection(layer.consistent_hash(group))
    async with connection as redis:
        return set(await redis.zrange(layer._group_key(group), 0, -1))


async def group_subscribers(group: str) -> int:
    """Whatever in Redis still receives the group's broadcasts, across processes:
    server processes subscribed to it (pub/sub layer), or socket channels in it
    (core layer). Zero means nothing is left behind for the group."""
    import redis.asyncio

    layer = get_channel_layer()
    client = redis.asyncio.Redis.from_url(settings.REDIS_URL)
    try:
        if isinstance(layer, RedisPubSubChannelLayer):
            name = f"{settings.CHANNEL_LAYER_PREFIX}__group__{group}"
            return dict(await client.pubsub_numsub(name)).get(name.encode(), 0)
        return await client.zcard(f"{settings.CHANNEL_LAYER_PREFIX}:group:{group}")
    finally:
        await client.aclose()


async def presence_entries(room_id: int) -> int:
    """Subscribed sockets of a room in Redis, across processes (chat.presence)."""
    import redis.asyncio

    client = redis.asyncio.Redis.from_url(settings.REDIS_URL)
    try:
        return await client.zcard(f"{settings.CHANNEL_LAYER_PREFIX}:presence:{room_id}")
    finally:
        await client.aclose()


def message_create_without_broadcast(room, author, client_id: str = "lost"):
    """Store a message whose broadcast never leaves, as if the layer had dropped it."""
    from django.db import transaction

    from chat import services

    with transaction.atomic():
        message, _ = services.message_create(
            room=room, author=author, body="lost", client_id=client_id
        )
        # Drop the queued broadcast: the row commits, the event never leaves.
        transaction.get_connection().run_on_commit.clear()
    return message
