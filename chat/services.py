"""Every state change of the chat: rooms, memberships, messages, read markers.

Each function validates, writes inside one transaction, and asks `chat.events` to
broadcast once the transaction has committed, so nobody hears of a row that was
rolled back. The socket consumer, the REST API, the web views and the admin all call
these; nothing else writes chat rows.
"""

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from chat import (
    attachments,
    events,
    loop_clients,
    mentions,
    message_store,
    metrics,
    protocol,
    ratelimits,
    selectors,
)
from chat.db_threads import in_db_thread
from chat.errors import (
    Banned,
    BodyEmpty,
    BodyTooLong,
    EditWindowClosed,
    InvalidInput,
    Muted,
    NotFound,
    NotMember,
    PermissionDenied,
    RoomNotFound,
)
from chat.models import (
    Membership,
    Message,
    MessageRevision,
    ModerationAction,
    Reaction,
    Room,
    RoomBan,
)
from chat.selectors import membership_of, room_unread_counts
from chat.socket_credentials import Credential

Role = Membership.Role
# How far each role may reach: an actor acts on members whose rank is lower.
RANK = {Role.MEMBER: 0, Role.MODERATOR: 1, Role.OWNER: 2}
STAFF_RANK = 3
MUTE_MAX_MINUTES = 60 * 24 * 365

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
            _("The message is %(length)d characters long; the limit is %(limit)d.")
            % {"length": len(body), "limit": settings.CHAT_BODY_MAX_CHARS}
        )
    return body


def room_create(
    *, owner, slug: str, name: str, topic: str = "", is_private: bool = False
) -> Room:
    """Create a room; its creator becomes its owner and first member."""
    slug = slugify(slug, allow_unicode=True)
    name = name.strip()
    if not slug:
        raise InvalidInput(_("A room needs a slug of letters, digits, '-' or '_'."))
    if not name:
        raise InvalidInput(_("A room needs a name."))
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
        # A slug is a room's address, one per site, so a taken one cannot be given
        # again; the answer is the same whoever holds it and says nothing of that
        # room: a private room the caller cannot see is not confirmed to exist.
        raise InvalidInput(
            _("The slug '%(slug)s' is not available; choose another.") % {"slug": slug}
        ) from None
    return room


def room_join(*, user, room: Room) -> Membership:
    """Join a public room (idempotent). A private room is only entered when added."""
    existing = membership_of(user=user, room=room)
    if existing is not None:
        return existing
    if room.is_private:
        raise RoomNotFound()
    if selectors.room_ban_exists(user=user, room=room):
        raise Banned()
    with transaction.atomic():
        membership, created = Membership.objects.get_or_create(room=room, user=user)
        if created:
            _count_own_messages(membership)
            _after_commit_add(user_id=user.pk, room=room)
    return membership


def room_leave(*, user, room: Room) -> None:
    """Leave a room; the user's sockets subscribed to it get `room.removed`."""
    membership = membership_of(user=user, room=room)
    if membership is None:
        raise NotMember()
    _refuse_direct(room, _("A direct conversation cannot be left."))
    if membership.role == Role.OWNER:
        raise PermissionDenied(_("The owner cannot leave the room they own."))
    with transaction.atomic():
        membership.delete()
        _after_commit_remove(user_id=user.pk, room=room, reason="left")


def room_update(
    *, room: Room, actor, name: str | None = None, topic: str | None = None
):
    """Owner, moderators or staff change a room's name or topic."""
    _require_moderator(actor=actor, room=room)
    _refuse_direct(room, _("A direct conversation has no name or topic to change."))
    fields = []
    if name is not None:
        if not name.strip():
            raise InvalidInput(_("A room needs a name."))
        room.name = name.strip()[:100]
        fields.append("name")
    if topic is not None:
        room.topic = topic.strip()[:300]
        fields.append("topic")
    if fields:
        with transaction.atomic():
            room.save(update_fields=fields)
            _audit(
                actor,
                ModerationAction.Kind.ROOM_UPDATE,
                room=room,
                detail=",".join(fields),
            )
    return room


def message_create(
    *,
    room: Room,
    author,
    body: str,
    client_id: str,
    attachment_ids: Sequence[int] = (),
    holder: Credential | None = None,
) -> tuple[Message, bool]:
    """Store a message and broadcast it; returns (message, created).

    Sending a client_id already used by this author in this room stores nothing and
    returns the stored message with created False (and broadcasts nothing). A created
    message carries `broadcast_event`, the event sent to the room with `sent` telling
    whether the channel layer took it. `attachment_ids` name the author's uploads to
    this room (chat.attachments); with some, the body may be empty. `holder` is the
    sending socket's credential: once it no longer stands, nothing is stored
    (chat.socket_credentials).
    """
    body = _sendable_body(body, attachment_ids)
    ratelimits.check_send(author)
    with transaction.atomic():
        stored = message_store.store(
            room_id=room.pk,
            author_id=author.pk,
            body=body,
            client_id=client_id,
            created_at=timezone.now(),
            holder=holder,
        )
        _refuse_unstored(stored)
        if not stored.created:
            return selectors.message_get_stored(message_id=stored.message_id), False
        message = _stored_message(room, author, body, client_id, stored)
        # ---- attachments: refused ones roll the message back ---------------------
        attachments.attachments_attach(
            message=message, author=author, ids=attachment_ids
        )
        # --------------------------------------------------------------------------
        message.reaction_list = []  # none yet: its message object needs no query
        room_slug, prev_id = room.slug, stored.prev_id

        def broadcast():
            metrics.messages_stored.inc()  # runs after the commit, so it is stored
            message.broadcast_event = events.message_created(
                message=message, room_slug=room_slug, prev_id=prev_id
            )

        transaction.on_commit(broadcast)

        # Mentions: rows in this transaction, `mention` frames after the broadcast.
        mentions.mentions_record_created(message=message, room=room)
    return message, True


@dataclass(frozen=True, slots=True)
class Posted:
    """What `message_create_async` did: the message, whether this call created it,
    and (created only) the broadcast event, whose `sent` says if the layer took it."""

    message: Message
    created: bool
    event: dict | None


async def message_create_async(
    *,
    room: Room,
    author,
    body: str,
    client_id: str,
    attachment_ids: Sequence[int] = (),
    holder: Credential | None = None,
) -> Posted:
    """`message_create` for the event loop (the socket): the same rules, row and
    broadcast. A plain message on PostgreSQL is stored by one statement on the
    loop's own connection pool and broadcast by awaiting the layer, with no thread
    hop; one with attachments or `@names`, or on another database, goes through
    `message_create` on the database threads."""
    plain = not attachment_ids and loop_clients.postgres_available()
    if plain:
        body = message_body_clean(body)
        plain = not mentions.mention_candidates(body)
    if not plain:
        message, created = await in_db_thread(message_create)(
            room=room,
            author=author,
            body=body,
            client_id=client_id,
            attachment_ids=attachment_ids,
            holder=holder,
        )
        return Posted(message, created, getattr(message, "broadcast_event", None))
    await ratelimits.check_send_async(author)
    stored = await message_store.store_async(
        room_id=room.pk,
        author_id=author.pk,
        body=body,
        client_id=client_id,
        created_at=timezone.now(),
        holder=holder,
    )
    _refuse_unstored(stored)
    if not stored.created:
        message = await in_db_thread(selectors.message_get_stored)(
            message_id=stored.message_id
        )
        return Posted(message, False, None)
    metrics.messages_stored.inc()
    message = _stored_message(room, author, body, client_id, stored)
    message_object = protocol.message_object(
        message, room_slug=room.slug, attachments=[], reactions=[], mentions=[]
    )
    event = await events.message_created_async(
        events.message_created_event(
            room_id=room.pk,
            message_id=message.pk,
            prev_id=stored.prev_id,
            message_object=message_object,
        )
    )
    return Posted(message, True, event)


def _stored_message(room, author, body, client_id, stored) -> Message:
    """The message just stored, as the row holds it (no query)."""
    return Message(
        pk=stored.message_id,
        room=room,
        author=author,
        body=body,
        client_id=client_id,
        created_at=stored.created_at,
    )


def _sendable_body(body: str, attachment_ids: Sequence[int]) -> str:
    """The body as stored; a message of files alone has an empty body."""
    try:
        return message_body_clean(body)
    except BodyEmpty:
        if not attachment_ids:
            raise
        return ""


def _refuse_unstored(stored: message_store.StoreResult) -> None:
    """Raise the refusal of a message that was not stored, if it was not."""
    if stored.holder_ending is not None:
        raise stored.holder_ending()
    if not stored.room_found:
        raise RoomNotFound()
    if not stored.is_member:
        raise NotMember()
    if stored.message_id is None:
        raise Muted(muted_until=stored.muted_until)


def _rank(user, room: Room) -> int | None:
    """The user's standing in a room: staff > owner > moderator > member > None."""
    if user.is_staff:
        return STAFF_RANK
    membership = membership_of(user=user, room=room)
    return RANK[membership.role] if membership is not None else None


def _may_moderate(*, user, room: Room) -> bool:
    rank = _rank(user, room)
    return rank is not None and rank >= RANK[Role.MODERATOR]


def _require_moderator(*, actor, room: Room) -> int:
    rank = _rank(actor, room)
    if rank is None or rank < RANK[Role.MODERATOR]:
        raise PermissionDenied(
            _("Only the room's owner, its moderators or staff may do that.")
        )
    return rank


def _require_outranks(
    *, actor, room: Room, target: Membership | None, target_user
) -> int:
    """The actor may moderate the room and stands above the target."""
    rank = _require_moderator(actor=actor, room=room)
    if target_user.pk == actor.pk:
        raise PermissionDenied(_("You cannot do that to yourself."))
    target_rank = RANK[target.role] if target is not None else RANK[Role.MEMBER]
    if target_user.is_staff and rank < STAFF_RANK:
        target_rank = STAFF_RANK
    if target_rank >= rank:
        raise PermissionDenied(
            _("You may only do that to members below your own role.")
        )
    return rank


def _audit(
    actor,
    kind,
    *,
    room=None,
    target_user=None,
    target_message=None,
    reason="",
    detail="",
):
    ModerationAction.objects.create(
        actor=actor,
        kind=kind,
        room=room,
        target_user=target_user,
        target_message=target_message,
        reason=reason[:300],
        detail=detail[:300],
    )


def _audit_message(actor, kind, message: Message, reason: str) -> None:
    """Audit an action on someone's message: against the message and its author."""
    _audit(
        actor,
        kind,
        room=message.room,
        target_user=message.author,
        target_message=message,
        reason=reason,
    )


def _after_commit_remove(*, user_id: int, room: Room, reason: str) -> None:
    room_id, room_slug = room.pk, room.slug
    transaction.on_commit(
        lambda: events.room_removed(
            user_id=user_id, room_id=room_id, room_slug=room_slug, reason=reason
        ),
        robust=True,
    )


def _after_commit_add(*, user_id: int, room: Room, peer=None) -> None:
    """Tell the user's sockets they may now subscribe to the room (sidebars add it)."""
    transaction.on_commit(
        lambda: events.room_added(user_id=user_id, room=room, peer=peer), robust=True
    )


def _refuse_direct(room: Room, detail: str) -> None:
    if room.kind == Room.Kind.DIRECT:
        raise InvalidInput(detail)


def message_edit(*, message: Message, editor, body: str) -> Message:
    """The author changes a message's body within CHAT_EDIT_WINDOW_SECONDS of
    posting it; the text it replaces is kept as a MessageRevision, and the change
    is broadcast as `message.edited`. An unchanged body stores and sends nothing.

    Same rules as sending: still a member, not muted, and within the send rate.
    """
    if message.author_id != editor.pk:
        raise PermissionDenied(_("Only the author may edit a message."))
    if message.deleted_at is not None:
        raise PermissionDenied(_("A deleted message cannot be edited."))
    body = message_body_clean(body)
    _require_edit_window(message)
    ratelimits.check_send(editor)
    return _message_body_replace(message=message, editor=editor, body=body)


def message_edit_by_staff(
    *, message: Message, actor, body: str, reason: str = ""
) -> Message:
    """Staff change a message's body from the admin, within the edit window.

    The revision names the staff member as the editor and the audit log records
    the edit against the author; the author's mute and send rate are theirs, not
    the editor's, so they do not apply. Staff editing their own message edit as its
    author (`message_edit`). Over the socket and REST only authors edit (contract).
    """
    if message.author_id == actor.pk:
        return message_edit(message=message, editor=actor, body=body)
    if not actor.is_staff:
        raise PermissionDenied(_("Only the author may edit a message."))
    if message.deleted_at is not None:
        raise PermissionDenied(_("A deleted message cannot be edited."))
    body = message_body_clean(body)
    _require_edit_window(message)
    return _message_body_replace(
        message=message, editor=actor, body=body, reason=reason
    )


def _message_body_replace(
    *, message: Message, editor, body: str, reason: str = ""
) -> Message:
    """Store `body` (already cleaned and allowed) as the message's text, keep the
    text it replaces as a revision by `editor`, and broadcast `message.edited`.
    The author must still be a member and not muted; anyone else's edit is
    audited."""
    by_author = message.author_id == editor.pk
    with transaction.atomic():
        # Lock the row and read the text being replaced from it: two concurrent
        # edits then run one after the other, and each keeps the text it replaced
        # (without the lock both would store the same old text, and one edit's
        # result would be lost from the history).
        locked = (
            Message.objects.select_for_update()
            .only("id", "body", "edited_at", "deleted_at")
            .get(pk=message.pk)
        )
        if locked.deleted_at is not None:
            raise PermissionDenied(_("A deleted message cannot be edited."))
        if by_author:
            membership = membership_of(user=editor, room=message.room)
            if membership is None:
                raise NotMember()
            _require_not_muted(membership)
        if locked.body == body:
            message.body, message.edited_at = locked.body, locked.edited_at
            return message
        now = timezone.now()
        MessageRevision.objects.create(
            message=locked, body=locked.body, editor=editor, created_at=now
        )
        message.body = body
        message.edited_at = now
        message.save(update_fields=["body", "edited_at"])
        if not by_author:
            _audit_message(editor, ModerationAction.Kind.MESSAGE_EDIT, message, reason)
        # The broadcast and the caller's answer carry the reactions as they are
        # now, under the lock, not as they were when the message was read.
        message.reaction_list = list(
            Reaction.objects.filter(message_id=message.pk)
            .select_related("user")
            .order_by("id")
        )
        room_slug = message.room.slug
        transaction.on_commit(
            lambda: events.message_edited(message=message, room_slug=room_slug),
            robust=True,
        )

        # Mentions follow the new body; members it newly names are told once.
        mentions.mentions_record_edited(message=message)
    return message


def message_delete(*, message: Message, actor, reason: str = "") -> None:
    """Soft-delete a message (author, room moderators, staff); broadcast the removal."""
    if message.author_id != actor.pk and not _may_moderate(
        user=actor, room=message.room
    ):
        raise PermissionDenied(
            _("Only the author or a moderator may delete a message.")
        )
    if message.deleted_at is not None:
        return
    with transaction.atomic():
        message.deleted_at = timezone.now()
        message.save(update_fields=["deleted_at"])
        if message.author_id != actor.pk:
            _audit_message(actor, ModerationAction.Kind.MESSAGE_DELETE, message, reason)
        room_id, room_slug, message_id = message.room_id, message.room.slug, message.pk
        transaction.on_commit(
            lambda: events.message_deleted(
                room_id=room_id, room_slug=room_slug, message_id=message_id
            ),
            robust=True,
        )


def message_restore(*, message: Message, actor, reason: str = "") -> Message:
    """Moderators and staff undo a deletion; open pages show the message again."""
    if not _may_moderate(user=actor, room=message.room):
        raise PermissionDenied(_("Only a moderator may restore a message."))
    if message.deleted_at is None:
        return message
    with transaction.atomic():
        message.deleted_at = None
        message.save(update_fields=["deleted_at"])
        _audit_message(actor, ModerationAction.Kind.MESSAGE_RESTORE, message, reason)
        room_slug = message.room.slug
        transaction.on_commit(
            lambda: events.message_restored(message=message, room_slug=room_slug),
            robust=True,
        )
    return message


def membership_mark_read(*, user, room: Room, last_id: int) -> None:
    """Move the member's read marker forward to last_id, never back, never past the
    room's newest message (a bogus huge id must not hide every future unread).

    The marker's position and the member's own messages after it move with it, so
    that badges are counted without a scan (selectors.unread_count_from)."""
    with transaction.atomic():
        # Locked: the member's own sends count themselves on this row, and must
        # not be lost to a recount made at the same moment.
        marker = (
            Membership.objects.select_for_update()
            .filter(room=room, user=user)
            .values_list("last_read_id", flat=True)
            .first()
        )
        if marker is None:
            raise NotMember()
        newest, message_count = Room.objects.filter(pk=room.pk).values_list(
            "last_message_id", "message_count"
        )[0]
        target = min(last_id, newest)
        # Only a marker that moves changes a row: rereading what was read is free
        # and tells nobody anything.
        if target <= marker:
            return
        if target == newest:
            read_position, sent_after_read = message_count, 0
        else:
            read_position = _position_at(room_id=room.pk, message_id=target)
            sent_after_read = Message.objects.filter(
                room=room, author=user, id__gt=target
            ).count()
        Membership.objects.filter(room=room, user=user).update(
            last_read_id=target,
            read_position=read_position,
            sent_after_read=sent_after_read,
        )
        counts = room_unread_counts(user=user, room_id=room.pk)
        user_id, room_slug = user.pk, room.slug
        transaction.on_commit(
            lambda: events.unread_changed(
                user_id=user_id, room_slug=room_slug, **counts
            ),
            robust=True,
        )


def _position_at(*, room_id: int, message_id: int) -> int:
    """The position of the room's newest message at or before message_id (0: none).
    A client names a message it has seen, which is one lookup by id."""
    position = (
        Message.objects.filter(room_id=room_id, pk=message_id)
        .values_list("position", flat=True)
        .first()
    )
    if position is None:
        position = (
            Message.objects.filter(room_id=room_id, id__lte=message_id)
            .order_by("-id")
            .values_list("position", flat=True)
            .first()
        ) or 0
    return position


def _count_own_messages(membership: Membership) -> None:
    """A new membership of a room with history: its own earlier messages (a member
    who left and came back) are not unread."""
    own = Message.objects.filter(
        room_id=membership.room_id, author_id=membership.user_id
    ).count()
    if own:
        Membership.objects.filter(pk=membership.pk).update(sent_after_read=own)
        membership.sent_after_read = own


# ---- direct messages ----------------------------------------------------------------


def direct_slug(first_user_id: int, second_user_id: int) -> str:
    """The conversation's slug: the two ids in order. `slugify` never produces a
    '.', so no room created by a user can take it."""
    low, high = sorted((first_user_id, second_user_id))
    return f"dm.{low}.{high}"


def direct_open(*, user, other) -> tuple[Room, bool]:
    """The private two-person conversation of `user` and `other`, created on first
    use; returns (room, created). Both get `room.added` when it is created."""
    if other.pk == user.pk:
        raise InvalidInput(_("You cannot start a conversation with yourself."))
    if not other.is_active:
        raise InvalidInput(
            _("%(username)s's account is deactivated.") % {"username": other.username}
        )
    slug = direct_slug(user.pk, other.pk)
    existing = Room.objects.filter(slug=slug).first()
    if existing is not None:
        return existing, False
    # Starting conversations with strangers is where spam begins: it spends the
    # same budget as sending a message.
    ratelimits.check_send(user)
    low, high = sorted((user, other), key=lambda person: person.pk)
    try:
        with transaction.atomic():
            room = Room.objects.create(
                slug=slug,
                kind=Room.Kind.DIRECT,
                name=f"{low.username}, {high.username}"[:100],
                is_private=True,
                owner=low,
            )
            Membership.objects.bulk_create(
                [Membership(room=room, user=low), Membership(room=room, user=high)]
            )
            _after_commit_add(user_id=low.pk, room=room, peer=high)
            _after_commit_add(user_id=high.pk, room=room, peer=low)
    except IntegrityError:
        # Both opened it at once: the other transaction created it.
        return Room.objects.get(slug=slug), False
    return room, True


def member_add(*, room: Room, actor, user) -> Membership:
    """Owner, moderators or staff add a user to a room (the way into a private one)."""
    _require_moderator(actor=actor, room=room)
    _refuse_direct(room, _("A direct conversation is between exactly two people."))
    if selectors.room_ban_exists(user=user, room=room):
        raise InvalidInput(
            _("%(username)s is banned from this room; unban them first.")
            % {"username": user.username}
        )
    if not user.is_active:
        raise InvalidInput(
            _("%(username)s's account is deactivated.") % {"username": user.username}
        )
    with transaction.atomic():
        membership, created = Membership.objects.get_or_create(room=room, user=user)
        if created:
            _count_own_messages(membership)
            _audit(actor, ModerationAction.Kind.MEMBER_ADD, room=room, target_user=user)
            _after_commit_add(user_id=user.pk, room=room)
    return membership


def member_remove(*, room: Room, actor, user) -> None:
    """Owner, moderators or staff remove a member, who may rejoin a public room."""
    target = membership_of(user=user, room=room)
    if target is None:
        raise NotMember(
            _("%(username)s is not a member of this room.")
            % {"username": user.username}
        )
    _require_outranks(actor=actor, room=room, target=target, target_user=user)
    with transaction.atomic():
        target.delete()
        _audit(actor, ModerationAction.Kind.MEMBER_REMOVE, room=room, target_user=user)
        _after_commit_remove(user_id=user.pk, room=room, reason="removed")


def member_set_role(*, room: Room, actor, user, role: str) -> Membership:
    """The owner (or staff) makes a member a moderator or a plain member again."""
    if role not in (Role.MEMBER, Role.MODERATOR):
        raise InvalidInput(_("The role must be 'member' or 'moderator'."))
    _refuse_direct(room, _("Nobody moderates a direct conversation but staff."))
    rank = _rank(actor, room)
    if rank is None or rank < RANK[Role.OWNER]:
        raise PermissionDenied(_("Only the room's owner or staff may change roles."))
    target = membership_of(user=user, room=room)
    if target is None:
        raise NotMember(
            _("%(username)s is not a member of this room.")
            % {"username": user.username}
        )
    if target.role == Role.OWNER:
        raise PermissionDenied(_("The owner's role cannot be changed."))
    if target.role != role:
        with transaction.atomic():
            target.role = role
            target.save(update_fields=["role"])
            _audit(
                actor,
                ModerationAction.Kind.MEMBER_ROLE,
                room=room,
                target_user=user,
                detail=role,
            )
    return target


def member_mute(
    *, room: Room, actor, user, minutes: int, reason: str = ""
) -> Membership:
    """Refuse the member's sends with `muted` for the given number of minutes."""
    if not 1 <= minutes <= MUTE_MAX_MINUTES:
        raise InvalidInput(
            _("'%(field)s' must be from 1 to %(max)d.")
            % {"field": "minutes", "max": MUTE_MAX_MINUTES}
        )
    target = membership_of(user=user, room=room)
    if target is None:
        raise NotMember(
            _("%(username)s is not a member of this room.")
            % {"username": user.username}
        )
    _require_outranks(actor=actor, room=room, target=target, target_user=user)
    with transaction.atomic():
        target.muted_until = timezone.now() + timezone.timedelta(minutes=minutes)
        target.mute_reason = reason[:300]
        target.save(update_fields=["muted_until", "mute_reason"])
        _audit(
            actor,
            ModerationAction.Kind.MEMBER_MUTE,
            room=room,
            target_user=user,
            reason=reason,
            detail=f"{minutes} minutes",
        )
        _after_commit_mute_change(target, room)
    return target


def member_unmute(*, room: Room, actor, user) -> Membership:
    target = membership_of(user=user, room=room)
    if target is None:
        raise NotMember(
            _("%(username)s is not a member of this room.")
            % {"username": user.username}
        )
    _require_outranks(actor=actor, room=room, target=target, target_user=user)
    with transaction.atomic():
        target.muted_until = None
        target.mute_reason = ""
        target.save(update_fields=["muted_until", "mute_reason"])
        _audit(actor, ModerationAction.Kind.MEMBER_UNMUTE, room=room, target_user=user)
        _after_commit_mute_change(target, room)
    return target


def _after_commit_mute_change(membership: Membership, room: Room) -> None:
    user_id, room_slug = membership.user_id, room.slug
    muted_until, reason = membership.muted_until, membership.mute_reason
    transaction.on_commit(
        lambda: events.member_muted(
            user_id=user_id, room_slug=room_slug, muted_until=muted_until, reason=reason
        )
    )


def member_ban(*, room: Room, actor, user, reason: str = "") -> None:
    """Remove the user from the room for good: their sockets get `room.removed`."""
    target = membership_of(user=user, room=room)
    _require_outranks(actor=actor, room=room, target=target, target_user=user)
    with transaction.atomic():
        RoomBan.objects.update_or_create(
            room=room, user=user, defaults={"reason": reason[:300], "banned_by": actor}
        )
        if target is not None:
            target.delete()
        _audit(
            actor,
            ModerationAction.Kind.MEMBER_BAN,
            room=room,
            target_user=user,
            reason=reason,
        )
        _after_commit_remove(user_id=user.pk, room=room, reason="banned")


def member_unban(*, room: Room, actor, user) -> None:
    """Lift a ban; the user may join a public room again (a private one: be added)."""
    _require_moderator(actor=actor, room=room)
    with transaction.atomic():
        # Not `_`, which is gettext here.
        deleted, _by_model = RoomBan.objects.filter(room=room, user=user).delete()
        if not deleted:
            raise InvalidInput(
                _("%(username)s is not banned from this room.")
                % {"username": user.username}
            )
        _audit(actor, ModerationAction.Kind.MEMBER_UNBAN, room=room, target_user=user)


def user_notify(*, actor, user, data: dict) -> None:
    """Staff push a JSON object to every open socket of a user, on every server."""
    if not actor.is_staff:
        raise PermissionDenied(_("Only staff may notify users."))
    events.user_notified(user_id=user.pk, data=data)


def user_deactivate(*, actor, user, reason: str = "") -> None:
    """Staff disable an account site-wide: it can no longer sign in or use a token,
    and every open socket of it, on every server process, is closed with 4403."""
    if not actor.is_staff:
        raise PermissionDenied(_("Only staff may deactivate accounts."))
    if user.pk == actor.pk:
        raise PermissionDenied(_("You cannot deactivate yourself."))
    if user.is_superuser and not actor.is_superuser:
        raise PermissionDenied(_("Only a superuser may deactivate a superuser."))
    with transaction.atomic():
        type(user).objects.filter(pk=user.pk).update(is_active=False)
        user.is_active = False
        _audit(
            actor,
            ModerationAction.Kind.USER_DEACTIVATE,
            target_user=user,
            reason=reason,
        )
        user_id = user.pk
        transaction.on_commit(
            lambda: events.user_deactivated(user_id=user_id), robust=True
        )


def direct_open_by_username(*, user, username: str) -> tuple[Room, bool]:
    """`direct_open` with the other person named; the room carries `peer`."""
    other = get_user_model().objects.filter(username=username).first()
    if other is None or not other.is_active:
        raise NotFound(_("No user is called %(username)s.") % {"username": username})
    room, created = direct_open(user=user, other=other)
    room.peer = other
    return room, created


def _require_edit_window(message: Message) -> None:
    window = settings.CHAT_EDIT_WINDOW_SECONDS
    if timezone.now() - message.created_at >= timezone.timedelta(seconds=window):
        if window <= 0:
            raise EditWindowClosed(_("Editing messages is turned off here."))
        if window % 3600 == 0:
            hours = window // 3600
            span = ngettext("%(count)d hour", "%(count)d hours", hours) % {
                "count": hours
            }
        elif window % 60 == 0:
            minutes = window // 60
            span = ngettext("%(count)d minute", "%(count)d minutes", minutes) % {
                "count": minutes
            }
        else:
            span = ngettext("%(count)d second", "%(count)d seconds", window) % {
                "count": window
            }
        raise EditWindowClosed(
            _("Messages can only be edited within %(span)s of posting.")
            % {"span": span}
        )


def _require_not_muted(membership: Membership) -> None:
    if membership.is_muted(at=timezone.now()):
        raise Muted(muted_until=membership.muted_until)
