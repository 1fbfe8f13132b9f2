"""The only code that sends persisted-data events to the channel layer.

Services call these after their transaction commits (typing, which stores nothing,
is sent from the socket). Each event carries the frame already encoded, so a
broadcast is serialised once, not once per recipient, and names its room or user:
each server process receives it once (chat.delivery.hub) and hands it to the
sockets it is for.
"""

import logging
import time

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from chat import metrics, protocol

logger = logging.getLogger(__name__)


def room_group_name(room_id: int) -> str:
    # Built from the id, never the slug: group names must be short ASCII, and a slug
    # may be in any script.
    return f"room.{room_id}"


def user_group_name(user_id: int) -> str:
    return f"user.{user_id}"


def _group_send(group: str, event: dict) -> None:
    try:
        async_to_sync(get_channel_layer().group_send)(group, event)
    except Exception:
        metrics.broadcast_failures.labels(event["type"]).inc()
        raise


def message_created_event(
    *, room_id: int, message_id: int, prev_id: int, message_object: dict
) -> dict:
    """The layer event announcing a new message, its frame encoded once."""
    frame = {
        "type": "message.new",
        "room": message_object["room"],
        "message": message_object,
        "replay": False,
    }
    return {
        "type": "chat.message.created",
        "room_id": room_id,
        "id": message_id,
        # The id of the message before this one in the room: a socket whose last
        # delivered id is older has missed something and fetches it first.
        "prev_id": prev_id,
        "frame": protocol.encode(frame),
    }


def message_created(*, message, room_slug: str, prev_id: int) -> dict:
    """Broadcast a new message; returns the event, with `sent` saying if it left.

    A failed broadcast is logged, not raised: the message is committed, the sender is
    acknowledged directly by its consumer, and other sockets recover it from the
    database (the next event's `prev_id` reveals the gap, or `since` on reconnect).
    """
    event = message_created_event(
        room_id=message.room_id,
        message_id=message.pk,
        prev_id=prev_id,
        message_object=protocol.message_object(message, room_slug=room_slug),
    )
    try:
        # Wall-clock time, as the consumer that relays it may run in another
        # process: the broadcast latency histogram measures from here.
        event["sent_at"] = time.time()
        _group_send(room_group_name(message.room_id), event)
    except Exception:
        _log_broadcast_failure(event)
        return {**event, "sent": False}
    return {**event, "sent": True}


async def message_created_async(event: dict) -> dict:
    """`message_created` from the event loop, for an event already built: awaits
    the layer directly (no thread hop). Returns the event with `sent`."""
    try:
        event["sent_at"] = time.time()
        await get_channel_layer().group_send(room_group_name(event["room_id"]), event)
    except Exception:
        metrics.broadcast_failures.labels(event["type"]).inc()
        _log_broadcast_failure(event)
        return {**event, "sent": False}
    return {**event, "sent": True}


def _log_broadcast_failure(event: dict) -> None:
    logger.exception(
        "broadcast of message %s failed",
        event["id"],
        extra={"message_id": event["id"], "room_id": event["room_id"]},
    )


def _message_changed(room_id: int, frame: dict) -> None:
    """An existing message changed: relayed as is to the room's subscribers."""
    _group_send(
        room_group_name(room_id),
        {
            "type": "chat.message.changed",
            "room_id": room_id,
            "frame": protocol.encode(frame),
        },
    )


def _user_frame(user_id: int, frame: dict) -> None:
    """A frame for every socket of one user (the event names the user: each server
    process receives it once and hands it to that user's sockets)."""
    _group_send(
        user_group_name(user_id),
        {"type": "chat.notify", "user_id": user_id, "frame": protocol.encode(frame)},
    )


async def typing(*, room_id: int, sender: str, frame: dict) -> None:
    """Someone is typing: relayed to the room's other sockets (not the sender's)."""
    await get_channel_layer().group_send(
        room_group_name(room_id),
        {
            "type": "chat.typing",
            "room_id": room_id,
            "sender": sender,
            "frame": protocol.encode(frame),
        },
    )


def message_edited(*, message, room_slug: str) -> None:
    message_object = protocol.message_object(message, room_slug=room_slug)
    frame = {"type": "message.edited", "room": room_slug, "message": message_object}
    _message_changed(message.room_id, frame)


def message_restored(*, message, room_slug: str) -> None:
    message_object = protocol.message_object(message, room_slug=room_slug)
    frame = {"type": "message.restored", "room": room_slug, "message": message_object}
    _message_changed(message.room_id, frame)


def message_deleted(*, room_id: int, room_slug: str, message_id: int) -> None:
    frame = {"type": "message.deleted", "room": room_slug, "id": message_id}
    _message_changed(room_id, frame)


def user_deactivated(*, user_id: int) -> None:
    _group_send(
        user_group_name(user_id), {"type": "chat.user.deactivated", "user_id": user_id}
    )


def room_removed(*, user_id: int, room_id: int, room_slug: str, reason: str) -> None:
    frame = {"type": "room.removed", "room": room_slug, "reason": reason}
    _group_send(
        user_group_name(user_id),
        {
            "type": "chat.room.removed",
            "user_id": user_id,
            "room_id": room_id,
            "frame": protocol.encode(frame),
        },
    )


def member_muted(*, user_id: int, room_slug: str, muted_until, reason: str) -> None:
    """The member's mute in a room began, changed or ended (`muted_until` None):
    every socket of theirs updates its composer."""
    frame = {
        "type": "member.muted",
        "room": room_slug,
        "muted_until": protocol.timestamp(muted_until),
        "reason": reason,
    }
    _user_frame(user_id, frame)


def user_notified(*, user_id: int, data: dict) -> None:
    frame = {"type": "notify", "data": data}
    _user_frame(user_id, frame)


def room_added(*, user_id: int, room, peer=None) -> None:
    """The user became a member (joined, was added, a direct conversation began)."""
    frame = {"type": "room.added", "room": protocol.room_summary(room, peer=peer)}
    _user_frame(user_id, frame)


def unread_changed(
    *,
    user_id: int,
    room_slug: str,
    unread_count: int,
    mention_count: int,
    last_read_id: int,
    last_id: int,
) -> None:
    """The user's read marker moved: every socket of theirs updates its badges."""
    frame = {
        "type": "unread",
        "room": room_slug,
        "unread_count": unread_count,
        "mention_count": mention_count,
        "last_read_id": last_read_id,
        "last_id": last_id,
    }
    _user_frame(user_id, frame)


def reaction_updated(
    *,
    room_id: int,
    room_slug: str,
    message_id: int,
    emoji: str,
    users: list[dict],
    actor: dict,
    added: bool,
) -> None:
    """A reaction was added or removed: the emoji's whole state on the message, so a
    client replaces what it had instead of counting."""
    frame = {
        "type": "reaction.updated",
        "room": room_slug,
        "message_id": message_id,
        "emoji": emoji,
        "count": len(users),
        "users": users,
        "user": actor,
        "added": added,
    }
    _message_changed(room_id, frame)


def members_mentioned(
    *, user_ids: list[int], message, room_slug: str, room_name: str
) -> None:
    """Tell each mentioned member, on every socket they have open (subscribed to the
    room or not): one `mention` frame, encoded once. A failure for one user is logged
    and does not keep the others from being told."""
    frame = {
        "type": "mention",
        "room": room_slug,
        "room_name": room_name,
        "message": protocol.message_object(message, room_slug=room_slug),
    }
    encoded = protocol.encode(frame)
    for user_id in user_ids:
        try:
            _group_send(
                user_group_name(user_id),
                {"type": "chat.mention", "user_id": user_id, "frame": encoded},
            )
        except Exception:
            logger.exception(
                "mention of user %s in message %s was not sent",
                user_id,
                message.pk,
                extra={"user_id": user_id, "message_id": message.pk},
            )
