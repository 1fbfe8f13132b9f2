"""Every read with rules: which rooms a user may see, and pages of a room's history.

Reads only; nothing here changes state or talks to the channel layer.
"""

from typing import NamedTuple

from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce, Greatest, Least
from django.utils.translation import gettext as _

from chat import loop_clients
from chat.db_threads import in_db_thread
from chat.errors import NotMember, PermissionDenied, RoomNotFound
from chat.loop_queries import LoopQuery
from chat.mentions import mentions_attach
from chat.models import (
    Attachment,
    Membership,
    Mention,
    Message,
    MessageRevision,
    Reaction,
    Room,
    RoomBan,
)

# Unread counts stop here: a badge says "999+", and counting further would scan a
# long-abandoned room's whole history on every page load.
UNREAD_COUNT_CAP = 999


def _deleted_by_others_after(*, room, user, after_id, up_to_id=None):
    """Deleted messages by others after a read marker (through the small index of
    deleted messages): positions count them, a badge does not."""
    deleted = Message.objects.filter(
        room=room, deleted_at__isnull=False, id__gt=after_id
    ).exclude(author=user)
    if up_to_id is not None:
        deleted = deleted.filter(id__lte=up_to_id)
    return deleted


def unread_count_from(
    *, message_count: int, read_position: int, sent_after_read: int, deleted: int
) -> int:
    """The badge: messages after the read marker (positions), less the member's own
    and the deleted ones by others, at most UNREAD_COUNT_CAP. No history scan."""
    count = message_count - read_position - sent_after_read - deleted
    return max(0, min(UNREAD_COUNT_CAP, count))


def _with_unread_count(rooms: QuerySet[Room], *, user) -> QuerySet[Room]:
    """`unread_count_from` for each room, in SQL (a non-member's rooms count 0)."""
    membership = Membership.objects.filter(room=OuterRef("pk"), user=user)
    read_marker = Membership.objects.filter(
        room=OuterRef(OuterRef("pk")), user=user
    ).values("last_read_id")[:1]
    deleted = _count_of(
        _deleted_by_others_after(
            room=OuterRef("pk"), user=user, after_id=Subquery(read_marker)
        )
    )
    count = (
        F("message_count")
        - Coalesce(Subquery(membership.values("read_position")[:1]), F("message_count"))
        - Coalesce(Subquery(membership.values("sent_after_read")[:1]), Value(0))
        - Coalesce(Subquery(deleted), Value(0))
    )
    return rooms.annotate(
        unread_count=Greatest(Value(0), Least(Value(UNREAD_COUNT_CAP), count)),
        mention_count=Coalesce(Subquery(_unread_mentions(user)), Value(0)),
    )


def room_list_for_user(*, user) -> QuerySet[Room]:
    """Public rooms and the private rooms the user belongs to (not direct
    conversations), with `is_member`, `is_banned` (the user may not join it),
    `unread_count` (visible messages by others after the member's read marker, at
    most UNREAD_COUNT_CAP) and `mention_count` (the user's mentions among them)."""
    membership = Membership.objects.filter(room=OuterRef("pk"), user=user)
    ban = RoomBan.objects.filter(room=OuterRef("pk"), user=user)
    rooms = Room.objects.filter(kind=Room.Kind.ROOM).annotate(
        is_member=Exists(membership), is_banned=Exists(ban)
    )
    return (
        _with_unread_count(rooms, user=user)
        .filter(Q(is_private=False) | Q(is_member=True))
        .order_by("name", "pk")
    )


def direct_list_for_user(*, user) -> list[Room]:
    """The user's direct conversations, most recently active first, each with
    `peer` (the other person) and `unread_count`."""
    rooms = Room.objects.filter(kind=Room.Kind.DIRECT, memberships__user=user)
    rooms = list(
        _with_unread_count(rooms, user=user)
        .order_by("-last_message_id", "-pk")
        .prefetch_related("memberships__user")
    )
    for room in rooms:
        others = [m.user for m in room.memberships.all() if m.user_id != user.pk]
        room.peer = others[0] if others else user
    return rooms


def direct_peer(*, room: Room, user):
    """The other person of a direct conversation (None for a room)."""
    if room.kind != Room.Kind.DIRECT:
        return None
    other = (
        Membership.objects.filter(room=room)
        .exclude(user=user)
        .select_related("user")
        .first()
    )
    return other.user if other is not None else None


def _with_badge_state(memberships: QuerySet[Membership], *, user_id: int, leading=()):
    """Rows of `leading` fields, then (last_read_id, last_id, message_count,
    read_position, sent_after_read, deleted, mentions): what `_badges` counts,
    for each membership of the user (OuterRefs to its own room and marker)."""
    span = {
        "after_id": OuterRef("last_read_id"),
        "up_to_id": OuterRef("room__last_message_id"),
    }
    deleted = _deleted_by_others_after(room=OuterRef("room_id"), user=user_id, **span)
    mentions = Mention.objects.filter(
        user_id=user_id,
        in_body=True,
        message__room_id=OuterRef("room_id"),
        message__deleted_at__isnull=True,
        message_id__gt=span["after_id"],
        message_id__lte=span["up_to_id"],
    )
    return memberships.annotate(
        deleted=Coalesce(Subquery(_count_of(deleted)), Value(0)),
        mentions=Coalesce(Subquery(_count_of(mentions)), Value(0)),
    ).values_list(
        *leading,
        "last_read_id",
        "room__last_message_id",
        "room__message_count",
        "read_position",
        "sent_after_read",
        "deleted",
        "mentions",
    )


def _badges(state: tuple) -> dict:
    """{unread_count, mention_count, last_read_id, last_id} from a badge state row.
    (Mentions never name their own author, so a mention after the marker is always
    in an unread message.)"""
    last_read_id, last_id, message_count, read_position, sent_after_read = state[:5]
    deleted, mentions = state[5:]
    return {
        "unread_count": unread_count_from(
            message_count=message_count,
            read_position=read_position,
            sent_after_read=sent_after_read,
            deleted=deleted,
        ),
        "mention_count": mentions,
        "last_read_id": last_read_id,
        "last_id": last_id,
    }


def _read_marker(*, room_id: int, user_id: int):
    """The member's badge state row for the room ([] for others)."""
    memberships = Membership.objects.filter(room_id=room_id, user_id=user_id)
    return _with_badge_state(memberships, user_id=user_id)


def room_unread_counts(*, user, room_id: int) -> dict:
    """The member's badges for one room: {unread_count, mention_count, last_read_id,
    last_id}, as of last_id, in one query."""
    state = _read_marker(room_id=room_id, user_id=user.pk).first()
    if state is None:  # not a member: nothing unread, up to the room's newest
        last_id = room_last_message_id(room_id=room_id)
        return _badges((0, last_id, 0, 0, 0, 0, 0))
    return _badges(state)


_MARKER_ON_LOOP = LoopQuery(_read_marker, ints=("room_id", "user_id"))


async def room_unread_counts_async(*, user, room_id: int) -> dict:
    """`room_unread_counts` from the event loop: the same queryset, compiled once
    and run on the loop's pool (PostgreSQL), else on the database threads."""
    if not loop_clients.postgres_available():
        return await in_db_thread(room_unread_counts)(user=user, room_id=room_id)
    rows = await _MARKER_ON_LOOP.fetch(room_id=room_id, user_id=user.pk)
    if not rows:  # no longer a member: counted as the sync reader does
        return await in_db_thread(room_unread_counts)(user=user, room_id=room_id)
    return _badges(rows[0])


def _unread_mentions(user):
    """Per room (OuterRef "pk"): the user's mentions in visible messages after the
    user's read marker there; none in rooms the user is not a member of."""
    read_marker = Membership.objects.filter(
        room=OuterRef(OuterRef("pk")), user=user
    ).values("last_read_id")[:1]
    return (
        Mention.objects.filter(
            user=user,
            in_body=True,
            message__room=OuterRef("pk"),
            message__deleted_at__isnull=True,
            message_id__gt=Subquery(read_marker),
        )
        .order_by()
        .values("user")
        .annotate(count=Count("id"))
        .values("count")
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


def room_ban_exists(*, user, room: Room) -> bool:
    """Whether the user is banned from the room (and so may not join it)."""
    return RoomBan.objects.filter(room=room, user=user).exists()


def membership_of(*, user, room: Room) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(room=room, user=user).first()


def room_get_for_member(*, user, slug: str) -> tuple[Room, Membership]:
    """The room and the user's membership, or RoomNotFound / NotMember.

    A member costs one query, as every history page and subscribe starts here;
    only a refusal looks further, to tell a room one may not see from one to join.
    """
    if user.is_authenticated:
        membership = (
            Membership.objects.select_related("room")
            .filter(room__slug=slug, user=user)
            .first()
        )
        if membership is not None:
            return membership.room, membership
    room_get_visible(user=user, slug=slug)
    raise NotMember()


_ROOM_FIELDS = ("id", "slug", "kind", "name", "topic", "is_private", "owner_id")
_MEMBERSHIP_FIELDS = ("id", "role", "last_read_id", "muted_until")


def _membership_by_slug(*, slug: str, user_id: int):
    return Membership.objects.filter(room__slug=slug, user_id=user_id).values_list(
        *(f"room__{name}" for name in _ROOM_FIELDS), *_MEMBERSHIP_FIELDS
    )


_MEMBERSHIP_ON_LOOP = LoopQuery(
    _membership_by_slug, ints=("user_id",), strings=("slug",)
)


def _subscriber_state(*, room_id: int, slug: str, user_id: int):
    """[(room fields..., then the badge state)] for a member of the room `room_id`
    whose slug is still `slug`; [] otherwise."""
    memberships = Membership.objects.filter(
        room_id=room_id, room__slug=slug, user_id=user_id
    )
    leading = [f"room__{name}" for name in _ROOM_FIELDS]
    return _with_badge_state(memberships, user_id=user_id, leading=leading)


def _count_of(queryset: QuerySet):
    """A subquery's row count as one value (for Subquery)."""
    return (
        queryset.order_by()
        .annotate(group=Value(1))
        .values("group")
        .annotate(count=Count("id"))
        .values("count")
    )


_SUBSCRIBER_ON_LOOP = LoopQuery(
    _subscriber_state, ints=("room_id", "user_id"), strings=("slug",)
)


def _room_id_by_slug(*, slug: str):
    return Room.objects.filter(slug=slug).values_list("id")


_ROOM_ID_ON_LOOP = LoopQuery(_room_id_by_slug, strings=("slug",))


async def room_id_async(*, slug: str) -> int | None:
    """The id of the room called `slug` (any kind, visible or not: for the caller's
    own bookkeeping, never an answer to a client), or None. PostgreSQL only."""
    rows = await _ROOM_ID_ON_LOOP.fetch(slug=slug)
    return rows[0][0] if rows else None


async def room_for_subscriber_async(
    *, user, room_id: int, slug: str
) -> tuple[Room, dict] | None:
    """The room and the member's badges (`room_unread_counts`), read together in
    one statement on the loop's pool: None unless the database is PostgreSQL, the
    room `room_id` is still called `slug` and the user is its member (the caller
    then reads the usual way, which tells which refusal applies)."""
    if not loop_clients.postgres_available():
        return None
    rows = await _SUBSCRIBER_ON_LOOP.fetch(room_id=room_id, slug=slug, user_id=user.pk)
    if not rows:
        return None
    room_values = rows[0][: len(_ROOM_FIELDS)]
    room = Room(**dict(zip(_ROOM_FIELDS, room_values, strict=True)))
    return room, _badges(rows[0][len(_ROOM_FIELDS) :])


async def room_get_for_member_async(*, user, slug: str) -> tuple[Room, Membership]:
    """`room_get_for_member` from the event loop: a member costs one prepared
    statement on the loop's pool (PostgreSQL); a refusal, or another database, goes
    through `room_get_for_member` on the database threads. The room carries the
    fields a subscription uses (no created_at, no last_message_id)."""
    if loop_clients.postgres_available():
        rows = await _MEMBERSHIP_ON_LOOP.fetch(slug=slug, user_id=user.pk)
        if rows:
            room_values = rows[0][: len(_ROOM_FIELDS)]
            room = Room(**dict(zip(_ROOM_FIELDS, room_values, strict=True)))
            membership_values = rows[0][len(_ROOM_FIELDS) :]
            membership = Membership(
                **dict(zip(_MEMBERSHIP_FIELDS, membership_values, strict=True)),
                room=room,
                user=user,
            )
            return room, membership
    return await in_db_thread(room_get_for_member)(user=user, slug=slug)


def _visible(room_id: int) -> QuerySet[Message]:
    return Message.objects.filter(room_id=room_id, deleted_at__isnull=True)


def _visible_messages(room_id: int) -> QuerySet[Message]:
    return (
        _visible(room_id)
        .select_related("author")
        # One query per page for every message's attachments, not one per message.
        .prefetch_related("attachments")
        .prefetch_related(reactions_prefetch())
    )


def message_page_after(
    *, room_id: int, after_id: int, limit: int, up_to_id: int | None = None
) -> list[Message]:
    """Oldest first: up to `limit` messages with after_id < id (<= up_to_id)."""
    messages = _visible_messages(room_id).filter(id__gt=after_id)
    if up_to_id is not None:
        messages = messages.filter(id__lte=up_to_id)
    return mentions_attach(list(messages.order_by("id")[:limit]))


class PageAuthor(NamedTuple):
    pk: int
    username: str


class PlainMessage:
    """A message of a plain page (no attachments, reactions or mentions) as its
    one statement read it: the fields `protocol.message_object` reads of a message,
    without two models built per row (in a reconnect storm that was a quarter of
    each page's cost)."""

    __slots__ = (
        "pk",
        "author_id",
        "body",
        "created_at",
        "edited_at",
        "client_id",
        "author",
        "attachment_list",
        "reaction_list",
        "current_mentions",
    )

    def __init__(self, pk, author_id, body, created_at, edited_at, client_id, author):
        self.pk, self.author_id, self.body = pk, author_id, body
        self.created_at, self.edited_at = created_at, edited_at
        self.client_id, self.author = client_id, author
        self.attachment_list = self.reaction_list = self.current_mentions = ()


_PLAIN_PAGE_FIELDS = ("id", "author_id", "body", "created_at", "edited_at", "client_id")


def _plain_page(limit: int):
    def plain_page(*, room_id: int, after_id: int, up_to_id: int):
        """`message_page_after`'s rows with the author's username, and whether each
        message has attachments or reactions."""
        return (
            _visible(room_id)
            .filter(id__gt=after_id, id__lte=up_to_id)
            .annotate(
                has_attachments=Exists(
                    Attachment.objects.filter(message=OuterRef("pk"))
                ),
                has_reactions=Exists(Reaction.objects.filter(message=OuterRef("pk"))),
            )
            .order_by("id")
            .values_list(
                *_PLAIN_PAGE_FIELDS,
                "author__username",
                "has_attachments",
                "has_reactions",
            )[:limit]
        )

    return plain_page


# One compiled statement per page size (a replay's and a repair's).
_PLAIN_PAGES_ON_LOOP: dict[int, LoopQuery] = {}


async def message_page_after_async(
    *, room_id: int, after_id: int, up_to_id: int, limit: int
) -> list[Message] | list[PlainMessage]:
    """`message_page_after` from the event loop. On PostgreSQL one statement reads
    the page; a page of plain messages (no attachments, reactions or `@`, the usual
    page) is built from it with nothing more to read, and any other page is read
    again through `message_page_after` on the database threads."""
    if loop_clients.postgres_available():
        query = _PLAIN_PAGES_ON_LOOP.get(limit)
        if query is None:
            query = _PLAIN_PAGES_ON_LOOP[limit] = LoopQuery(
                _plain_page(limit), ints=("room_id", "after_id", "up_to_id")
            )
        rows = await query.fetch(room_id=room_id, after_id=after_id, up_to_id=up_to_id)
        messages = _plain_messages(rows)
        if messages is not None:
            return messages
    return await in_db_thread(message_page_after)(
        room_id=room_id, after_id=after_id, up_to_id=up_to_id, limit=limit
    )


def _plain_messages(rows: list[tuple]) -> list[PlainMessage] | None:
    """Messages from `_plain_page` rows; None if any has attachments, reactions or
    an `@` (a mention cannot exist without one, as in `mentions_attach`)."""
    messages = []
    for *values, username, has_attachments, has_reactions in rows:
        message = PlainMessage(*values, author=PageAuthor(values[1], username))
        if has_attachments or has_reactions or "@" in message.body:
            return None
        messages.append(message)
    return messages


def message_page_before(
    *, room_id: int, before_id: int | None, limit: int
) -> list[Message]:
    """Newest first: up to `limit` messages with id < before_id (or the newest)."""
    messages = _visible_messages(room_id)
    if before_id is not None:
        messages = messages.filter(id__lt=before_id)
    return mentions_attach(list(messages.order_by("-id")[:limit]))


def message_get_stored(*, message_id: int) -> Message:
    """One message with everything its message object reads loaded (author,
    attachments, reactions, mentions): a resent client_id is answered with it."""
    message = (
        Message.objects.filter(pk=message_id)
        .select_related("author")
        .prefetch_related("attachments")
        .prefetch_related(reactions_prefetch())
        .get()
    )
    return mentions_attach([message])[0]


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


def attachment_get_readable(*, user, attachment_id: int) -> Attachment | None:
    """An attachment the user may download, else None (existence is not revealed).

    Members of its room may, while its message is visible; the room's moderators
    and staff also once the message is deleted; an upload not yet part of a message
    only its uploader.
    """
    attachment = (
        Attachment.objects.filter(pk=attachment_id)
        .select_related("room", "message")
        .first()
    )
    if attachment is None or not user.is_authenticated:
        return None
    if attachment.message is None:
        return attachment if attachment.uploader_id == user.pk else None
    if user.is_staff:
        return attachment
    membership = membership_of(user=user, room=attachment.room)
    if membership is None:
        return None
    if attachment.message.deleted_at is not None and membership.role not in (
        Membership.Role.OWNER,
        Membership.Role.MODERATOR,
    ):
        return None
    return attachment


def reactions_prefetch() -> Prefetch:
    """Loads the reactions of every message of a page in one query, into
    `message.reaction_list` (what `protocol.reactions_object` reads)."""
    return Prefetch(
        "reactions",
        queryset=Reaction.objects.select_related("user").order_by("id"),
        to_attr="reaction_list",
    )


def message_revision_list(*, user, message: Message) -> list[MessageRevision]:
    """The texts a message had before each of its edits, oldest first.

    For the room's owner and moderators, and staff; others get PermissionDenied.
    The caller has checked that the user may read the message at all.
    """
    if not user.is_staff:
        membership = membership_of(user=user, room=message.room)
        if membership is None or membership.role == Membership.Role.MEMBER:
            raise PermissionDenied(
                _(
                    "Only the room's owner, its moderators or staff may see "
                    "earlier versions of a message."
                )
            )
    return list(message.revisions.select_related("editor").order_by("id"))
