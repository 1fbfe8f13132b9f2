"""A socket joining a room: the room's group first, then the read of `last_id`.

The order is what makes a subscription gapless: once the process's channel is in the
room's group, every message committed after the read of the room's newest id is
broadcast to it, and every message before is at or below that id (replayed with
`since`, or counted in the badges). On PostgreSQL the process keeps each slug's
room id (looked up once, shared by every subscribe that asks meanwhile: a reconnect
storm brings hundreds at once), joins the group, then reads the room, the membership
and the badges in one statement. An id that no longer holds (the room renamed or
gone, the user not a member) is forgotten, the group left, and the room read the
usual way, in two reads that also tell which refusal applies.
"""

import asyncio

from chat import loop_clients, selectors
from chat.delivery.hub import hub
from chat.delivery.sockets import SocketDelivery
from chat.models import Room

# Room ids by slug, or the lookup of one under way: hints, checked by the read that
# follows. Cleared whole past this size (rooms are looked up again).
ROOM_ID_HINTS_MAX = 100_000
_room_ids: dict[str, int | asyncio.Task] = {}


async def join_room(socket: SocketDelivery, *, user, slug: str) -> tuple[Room, dict]:
    """Join the room called `slug` for the socket (which holds its live events) and
    read it after joining: (room, badges as `selectors.room_unread_counts`). Raises
    the refusal (RoomNotFound, NotMember) with the socket's groups as they were."""
    if loop_clients.postgres_available():
        room_id = await _room_id(slug)
        if room_id is not None:
            found = await _joined(
                socket,
                room_id,
                selectors.room_for_subscriber_async(
                    user=user, room_id=room_id, slug=slug
                ),
            )
            if found is not None:
                return found
            if _room_ids.get(slug) == room_id:
                del _room_ids[slug]
    room, _ = await selectors.room_get_for_member_async(user=user, slug=slug)
    counts = await _joined(
        socket,
        room.pk,
        selectors.room_unread_counts_async(user=user, room_id=room.pk),
    )
    return room, counts


async def _joined(socket: SocketDelivery, room_id: int, read):
    """Join the room's group, then await `read` (a coroutine): its answer, the
    group left again if the read failed or found nothing for a new subscription."""
    new = room_id not in socket.subscriptions
    try:
        await hub().join_room(socket, room_id)
        found = await read
    except BaseException:
        read.close()  # never awaited if the join failed
        if new:
            await hub().leave_room(socket, room_id)
        raise
    if found is None and new:
        await hub().leave_room(socket, room_id)
    return found


async def _room_id(slug: str) -> int | None:
    hint = _room_ids.get(slug)
    if isinstance(hint, int):
        return hint
    if hint is not None and hint.get_loop() is not asyncio.get_running_loop():
        hint = None  # a lookup left by an event loop that ended (tests run many)
    if hint is None:
        if len(_room_ids) >= ROOM_ID_HINTS_MAX:
            _room_ids.clear()
        hint = asyncio.get_running_loop().create_task(
            selectors.room_id_async(slug=slug)
        )
        _room_ids[slug] = hint
    try:
        # Shielded: a socket that closes while it waits does not cancel the others'.
        room_id = await asyncio.shield(hint)
    except Exception:
        if _room_ids.get(slug) is hint:
            del _room_ids[slug]
        raise
    if _room_ids.get(slug) is hint:
        if room_id is None:
            del _room_ids[slug]
        else:
            _room_ids[slug] = room_id
    return room_id
