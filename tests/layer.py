"""Helpers that read the real channel layer directly, as a test's eyes on it."""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer


def listen(group: str) -> str:
    """A fresh channel in the group; read it with next_event (synchronous tests)."""
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(group, channel)
    return channel


def next_event(channel: str) -> dict:
    return async_to_sync(get_channel_layer().receive)(channel)


async def group_members(group: str) -> set:
    """The channels in a group, read from the layer's own storage."""
    layer = get_channel_layer()
    if hasattr(layer, "groups"):  # the in-memory layer
        return set(layer.groups.get(group, {}))
    connection = layer.connection(layer.consistent_hash(group))
    async with connection as redis:
        return set(await redis.zrange(layer._group_key(group), 0, -1))


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
