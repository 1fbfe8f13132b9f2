"""Mentions: `@username` in a message naming another member of its room.

Owns reading names out of bodies, recording `Mention` rows inside the caller's
transaction (the services call it from `message_create` and `message_edit`), telling
each newly mentioned member once the transaction commits, and attaching mentions to
messages read in bulk. Who may post or edit is decided by the services, not here.
"""

import logging
import re

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.functions import Lower

from chat import events
from chat.models import Mention, Message

logger = logging.getLogger(__name__)

# Django's usernames (UnicodeUsernameValidator) are letters, digits and @ . + - _.
# The `@` must not follow such a character, so that an e-mail address like
# ana@example.org mentions nobody.
MENTION_PATTERN = re.compile(r"(?<![\w.@+-])@([\w.@+-]+)")
# Characters a name may end with that also end sentences ("thanks @bob."): a name is
# tried as written first, then with these dropped from its end one at a time.
TRAILING_PUNCTUATION = "._@+-"


def mention_candidates(body: str) -> list[list[str]]:
    """The distinct `@names` of a body in order, the first
    CHAT_MENTIONS_MAX_PER_MESSAGE of them, each as the names it may stand for,
    longest first: "@bob.," -> ["bob.", "bob"]."""
    groups, seen = [], set()
    for match in MENTION_PATTERN.finditer(body):
        name = match.group(1)
        if name in seen:
            continue
        seen.add(name)
        group = [name]
        while name and name[-1] in TRAILING_PUNCTUATION:
            name = name[:-1]
            if name:
                group.append(name)
        groups.append(group)
        if len(groups) >= settings.CHAT_MENTIONS_MAX_PER_MESSAGE:
            break
    return groups


def mentioned_members(*, room_id: int, author_id: int, body: str) -> list:
    """The active members of the room, the author aside, that the body mentions, in
    order of first mention. A name matches a username exactly first, then regardless
    of case; a name that matches several users only regardless of case mentions
    nobody (which one was meant cannot be told). No query without an `@name`."""
    groups = mention_candidates(body)
    if not groups:
        return []
    names = {name for group in groups for name in group}
    members = (
        get_user_model()
        .objects.filter(memberships__room_id=room_id, is_active=True)
        .exclude(pk=author_id)
    )
    exact = {user.username: user for user in members.filter(username__in=names)}
    resolved = [next((exact[n] for n in group if n in exact), None) for group in groups]
    unresolved = {
        name.lower()
        for group, user in zip(groups, resolved, strict=True)
        if user is None
        for name in group
    }
    by_lower: dict[str, list] = {}
    if unresolved:
        folded = members.annotate(folded=Lower("username")).filter(
            folded__in=unresolved
        )
        for user in folded:
            by_lower.setdefault(user.username.lower(), []).append(user)
    users, chosen = [], set()
    for group, user in zip(groups, resolved, strict=True):
        if user is None:
            # The longest name that matches anybody decides; two matches: nobody.
            matches = next(
                (by_lower[n.lower()] for n in group if n.lower() in by_lower), []
            )
            user = matches[0] if len(matches) == 1 else None
        if user is not None and user.pk not in chosen:
            chosen.add(user.pk)
            users.append(user)
    return users


def mentions_record_created(*, message: Message, room) -> None:
    """Inside `message_create`'s transaction: store whom the new message mentions,
    and send each of them a `mention` frame once the transaction commits."""
    users = mentioned_members(
        room_id=room.pk, author_id=message.author_id, body=message.body
    )
    rows = [Mention(message=message, user=user) for user in users]
    if rows:
        Mention.objects.bulk_create(rows)
        _notify_after_commit(message=message, room=room, user_ids=[u.pk for u in users])
    message.current_mentions = rows


def mentions_record_edited(*, message: Message) -> None:
    """Inside `message_edit`'s transaction: bring the mentions in line with the new
    body. Only users never mentioned in this message before are notified."""
    # Two edits of one message at once must not both see a user as new.
    list(Message.objects.select_for_update().filter(pk=message.pk).values_list("pk"))
    users = mentioned_members(
        room_id=message.room_id, author_id=message.author_id, body=message.body
    )
    mentioned_ids = {user.pk for user in users}
    known = dict(Mention.objects.filter(message=message).values_list("user", "in_body"))
    # Rows whose in_body must change: named again, or no longer named.
    back = [uid for uid, shown in known.items() if uid in mentioned_ids and not shown]
    gone = [uid for uid, shown in known.items() if uid not in mentioned_ids and shown]
    for user_ids, in_body in ((back, True), (gone, False)):
        if user_ids:
            Mention.objects.filter(message=message, user__in=user_ids).update(
                in_body=in_body
            )
    new_users = [user for user in users if user.pk not in known]
    if new_users:
        Mention.objects.bulk_create(
            [Mention(message=message, user=user) for user in new_users]
        )
        _notify_after_commit(
            message=message, room=message.room, user_ids=[u.pk for u in new_users]
        )
    current = _current_mentions([message.pk]) if mentioned_ids else {}
    message.current_mentions = current.get(message.pk, [])


def mentions_attach(messages: list[Message]) -> list[Message]:
    """Give each message its `current_mentions` for the message object, with one
    query for the whole list, or none when no body has an `@` (a mention cannot
    exist without one, so the usual page costs nothing extra)."""
    with_at = [message.pk for message in messages if "@" in message.body]
    by_message = _current_mentions(with_at) if with_at else {}
    for message in messages:
        message.current_mentions = by_message.get(message.pk, [])
    return messages


def _current_mentions(message_ids) -> dict[int, list[Mention]]:
    rows = (
        Mention.objects.filter(message_id__in=message_ids, in_body=True)
        .select_related("user")
        .order_by("id")
    )
    by_message: dict[int, list[Mention]] = {}
    for row in rows:
        by_message.setdefault(row.message_id, []).append(row)
    return by_message


def _notify_after_commit(*, message: Message, room, user_ids: list[int]) -> None:
    room_slug, room_name = room.slug, room.name
    transaction.on_commit(
        lambda: events.members_mentioned(
            user_ids=user_ids, message=message, room_slug=room_slug, room_name=room_name
        ),
        robust=True,
    )
