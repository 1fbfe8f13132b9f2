"""Every read with rules: which rooms a user may see, and pages of a room's history.

Reads only; nothing here changes state or talks to the channel layer.
"""

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from chat.errors import NotMember, RoomNotFound
from chat.models import Membership, Message, Room


def room_list_for_user(*, user) -> QuerySet[Room]:
    """Public rooms and the private rooms the user belongs to, with `is_member` and
    `unread_count` (visible messages by others after the member's read marker)."""
    membership = Membership.objects.filter(room=OuterRef("pk"), user=user)
    read_marker = Membership.objects.filter(
        room=OuterRef(OuterRef("pk")), user=user
    ).values("last_read_id")[:1]
    unread = (
        Message.objects.filter(
            room=OuterRef("pk"), deleted_at__isnull=True, id__gt=Subquery(read_marker)
        )
        .exclude(author=user)
        .order_by()
        .values("room")
        .annotate(count=Count("id"))
        .values("count")
    )
    return (
        Room.objects.annotate(
            is_member=Exists(membership),
            unread_count=Coalesce(Subquery(unread), Value(0)),
        )
        .filter(Q(is_private=False) | Q(is_member=True))
        .order_by("name", "pk")
    )


def room_get_visible(*, user, slug: str) -> Room:
    """The room if the user may see it; a private room of others is RoomNotFound.

    Staff see every room (they moderate them), but seeing is not membership: reading
    history or posting still needs a membership.
    """
    room = Room.objects.filter(slug=slug).first()
    if room is None:
        raise RoomNotFound()
    if (
        room.is_private
        and not user.is_staff
        and not membership_of(user=user, room=room)
    ):
        raise RoomNotFound()
    return room


def membership_of(*, user, room: Room) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(room=room, user=user).first()


def room_get_for_member(*, user, slug: str) -> tuple[Room, Membership]:
    """The room and the user's membership, or RoomNotFound / NotMember."""
    room = room_get_visible(user=user, slug=slug)
    membership = membership_of(user=user, room=room)
    if membership is None:
        raise NotMember()
    return room, membership


def _visible_messages(room_id: int) -> QuerySet[Message]:
    return Message.objects.filter(
        room_id=room_id, deleted_at__isnull=True
    ).select_related("author")


def message_page_after(
    *, room_id: int, after_id: int, limit: int, up_to_id: int | None = None
) -> list[Message]:
    """Oldest first: up to `limit` messages with after_id < id (<= up_to_id)."""
    messages = _visible_messages(room_id).filter(id__gt=after_id)
    if up_to_id is not None:
        messages = messages.filter(id__lte=up_to_id)
    return list(messages.order_by("id")[:limit])


def message_page_before(
    *, room_id: int, before_id: int | None, limit: int
) -> list[Message]:
    """Newest first: up to `limit` messages with id < before_id (or the newest)."""
    messages = _visible_messages(room_id)
    if before_id is not None:
        messages = messages.filter(id__lt=before_id)
    return list(messages.order_by("-id")[:limit])


def rooms_last_message_ids(*, room_ids) -> dict[int, int]:
    """{room id: id of its newest message} for several rooms, in one query."""
    return dict(
        Room.objects.filter(pk__in=room_ids).values_list("pk", "last_message_id")
    )


def room_last_message_id(*, room_id: int) -> int:
    return (
        Room.objects.filter(pk=room_id).values_list("last_message_id", flat=True).get()
    )


def room_detail(*, user, slug: str) -> Room:
    """A visible room annotated with `member_count` and `is_member`."""
    room = room_get_visible(user=user, slug=slug)
    membership = Membership.objects.filter(room=OuterRef("pk"), user=user)
    return (
        Room.objects.filter(pk=room.pk)
        .select_related("owner")
        .annotate(member_count=Count("memberships"), is_member=Exists(membership))
        .get()
    )


def member_list(*, room: Room) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(room=room)
        .select_related("user")
        .order_by("user__username")
    )


def message_get_readable(*, user, message_id: int) -> Message | None:
    """A visible message in a room the user belongs to (staff: any room)."""
    message = (
        Message.objects.filter(pk=message_id, deleted_at__isnull=True)
        .select_related("room", "author")
        .first()
    )
    if message is None:
        return None
    if user.is_staff or membership_of(user=user, room=message.room) is not None:
        return message
    return None
