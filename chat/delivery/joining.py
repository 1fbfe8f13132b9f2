"""A socket joining a room: the room's group first, then the read of `last_id`.

The order is what makes a subscription gapless: once the process's channel is in the
room's group, every message committed after the read of the room's newest id is
broadcast to it, and every message before is at or below that id (replayed with
`since`, or counted in the badges). The read takes one statement when this process
already knows the room's id for the slug (from an earlier subscribe): the group is
joined first, then the room, the membership and the badges are read together. A
hint that no longer holds (the room renamed or gone, the user not a member) costs a
leave and the usual two reads, which also tell which refusal applies.
"""

from chat import selectors
from chat.delivery.hub import hub
from chat.delivery.sockets import SocketDelivery
from chat.models import Room

# Room ids by slug, learnt from this process's subscribes: hints, checked by the
# read that follows. Cleared whole past this size (rooms are looked up again).
ROOM_ID_HINTS_MAX = 100_000
_room_ids: dict[str, int] = {}


async def join_room(socket: SocketDelivery, *, user, slug: str) -> tuple[Room, dict]:
    """Join the room called `slug` for the socket (which holds its live events) and
    read it after joining: (room, badges as `selectors.room_unread_counts`). Raises
    the refusal (RoomNotFound, NotMember) with the socket's groups as they were."""
    room_id = _room_ids.get(slug)
    if room_id is not None:
        new = room_id not in socket.subscriptions
        await hub().join_room(socket, room_id)
        try:
            found = await selectors.room_for_subscriber_async(
                user=user, room_id=room_id, slug=slug
            )
        except BaseException:
            if new:
                await hub().leave_room(socket, room_id)
            raise
        if found is not None:
            return found
        _room_ids.pop(slug, None)
        if new:
            await hub().leave_room(socket, room_id)
    room, _ = await selectors.room_get_for_member_async(user=user, slug=slug)
    new = room.pk not in socket.subscriptions
    await hub().join_room(socket, room.pk)
    try:
        counts = await selectors.room_unread_counts_async(user=user, room_id=room.pk)
    except BaseException:
        if new:
            await hub().leave_room(socket, room.pk)
        raise
    if len(_room_ids) >= ROOM_ID_HINTS_MAX:
        _room_ids.clear()
    _room_ids[slug] = room.pk
    return room, counts
