"""Every state change of the chat: rooms, memberships, messages, read markers.

Each function validates, writes inside one transaction, and asks `chat.events` to
broadcast once the transaction has committed, so nobody hears of a row that was
rolled back. The socket consumer, the REST API, the web views and the admin all call
these; nothing else writes chat rows.
"""

import re
import unicodedata

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Subquery, Value
from django.db.models.functions import Greatest, Least
from django.utils import timezone
from django.utils.text import slugify

from chat import events
from chat.errors import (
    BodyEmpty,
    BodyTooLong,
    InvalidInput,
    NotMember,
    PermissionDenied,
    RoomNotFound,
)
from chat.models import Membership, Message, Room
from chat.selectors import membership_of

_LINE_BREAKS = re.compile(r"\r\n?")


def message_body_clean(body: str) -> str:
    """The body as stored: line breaks unified, control characters dropped, trimmed.

    Raises BodyEmpty or BodyTooLong. Tabs and newlines are kept; every other control
    or format-breaking character (C0, C1, DEL) is removed, so a message cannot carry
    terminal escapes or invisible junk into other people's screens.
    """
    body = _LINE_BREAKS.sub("\n", body)
    body = "".join(
        char
        for char in body
        if char in "\n\t" or unicodedata.category(char) not in ("Cc", "Cs")
    ).strip()
    if not body:
        raise BodyEmpty()
    if len(body) > settings.CHAT_BODY_MAX_CHARS:
        raise BodyTooLong(
            f"The message is {len(body)} characters long; "
            f"the limit is {settings.CHAT_BODY_MAX_CHARS}."
        )
    return body


def room_create(
    *, owner, slug: str, name: str, topic: str = "", is_private: bool = False
) -> Room:
    """Create a room; its creator becomes its owner and first member."""
    slug = slugify(slug, allow_unicode=True)
    name = name.strip()
    if not slug:
        raise InvalidInput("A room needs a slug of letters, digits, '-' or '_'.")
    if not name:
        raise InvalidInput("A room needs a name.")
    try:
        with transaction.atomic():
            room = Room.objects.create(
                slug=slug,
                name=name[:100],
                topic=topic.strip()[:300],
                is_private=is_private,
                owner=owner,
            )
            Membership.objects.create(room=room, user=owner, role=Membership.Role.OWNER)
    except IntegrityError:
        raise InvalidInput(f"A room with the slug '{slug}' already exists.") from None
    return room


def room_join(*, user, room: Room) -> Membership:
    """Join a public room (idempotent). A private room is only entered when added."""
    if room.is_private:
        existing = membership_of(user=user, room=room)
        if existing is None:
            raise RoomNotFound()
        return existing
    membership, _ = Membership.objects.get_or_create(room=room, user=user)
    return membership


def room_leave(*, user, room: Room) -> None:
    """Leave a room; the user's sockets subscribed to it get `room.removed`."""
    with transaction.atomic():
        deleted, _ = Membership.objects.filter(room=room, user=user).delete()
        if not deleted:
            raise NotMember()
        transaction.on_commit(
            lambda: events.room_removed(
                user_id=user.pk, room_id=room.pk, room_slug=room.slug, reason="left"
            )
        )


def message_create(
    *, room: Room, author, body: str, client_id: str
) -> tuple[Message, bool]:
    """Store a message and broadcast it; returns (message, created).

    Sending a client_id already used by this author in this room stores nothing and
    returns the stored message with created False (and broadcasts nothing).
    """
    body = message_body_clean(body)
    with transaction.atomic():
        # Lock the room row: inserts into one room are serialised, so ids within a
        # room grow in commit order. Without this, two concurrent transactions could
        # commit ids 8 then 7, and a client that had seen 8 would never ask for 7.
        locked = (
            Room.objects.select_for_update()
            .only("id", "last_message_id")
            .get(pk=room.pk)
        )
        if membership_of(user=author, room=room) is None:
            raise NotMember()
        existing = (
            Message.objects.filter(room=room, author=author, client_id=client_id)
            .select_related("author")
            .first()
        )
        if existing is not None:
            return existing, False
        prev_id = locked.last_message_id
        message = Message.objects.create(
            room=room, author=author, body=body, client_id=client_id
        )
        Room.objects.filter(pk=room.pk).update(last_message_id=message.pk)
        room_slug = room.slug
        transaction.on_commit(
            lambda: events.message_created(
                message=message, room_slug=room_slug, prev_id=prev_id
            )
        )
    return message, True


def _may_moderate(*, user, room: Room) -> bool:
    if user.is_staff:
        return True
    membership = membership_of(user=user, room=room)
    return membership is not None and membership.role in (
        Membership.Role.MODERATOR,
        Membership.Role.OWNER,
    )


def message_edit(*, message: Message, editor, body: str) -> Message:
    """The author changes a message's body; broadcast as `message.edited`."""
    if message.author_id != editor.pk:
        raise PermissionDenied("Only the author may edit a message.")
    if message.deleted_at is not None:
        raise PermissionDenied("A deleted message cannot be edited.")
    body = message_body_clean(body)
    with transaction.atomic():
        message.body = body
        message.edited_at = timezone.now()
        message.save(update_fields=["body", "edited_at"])
        room_slug = message.room.slug
        transaction.on_commit(
            lambda: events.message_edited(message=message, room_slug=room_slug)
        )
    return message


def message_delete(*, message: Message, actor) -> None:
    """Soft-delete a message (author, room moderators, staff); broadcast the removal."""
    if message.author_id != actor.pk and not _may_moderate(
        user=actor, room=message.room
    ):
        raise PermissionDenied("Only the author or a moderator may delete a message.")
    if message.deleted_at is not None:
        return
    with transaction.atomic():
        message.deleted_at = timezone.now()
        message.save(update_fields=["deleted_at"])
        room_id, room_slug, message_id = message.room_id, message.room.slug, message.pk
        transaction.on_commit(
            lambda: events.message_deleted(
                room_id=room_id, room_slug=room_slug, message_id=message_id
            )
        )


def membership_mark_read(*, user, room: Room, last_id: int) -> None:
    """Move the member's read marker forward to last_id, never back, never past the
    room's newest message (a bogus huge id must not hide every future unread)."""
    newest = Room.objects.filter(pk=room.pk).values("last_message_id")
    updated = Membership.objects.filter(room=room, user=user).update(
        last_read_id=Greatest("last_read_id", Least(Value(last_id), Subquery(newest)))
    )
    if not updated:
        raise NotMember()
