"""Reactions: which emoji count as one, and adding or removing a user's reaction.

The write path for reactions, like `chat.services` for the rest: validate, write in
one transaction, broadcast `reaction.updated` after commit. How reactions appear in
the message object is `chat.protocol.reactions_object`; loading them for a page of
messages is `chat.selectors`.
"""

import re

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chat import events, protocol, ratelimits
from chat.errors import InvalidEmoji, Muted, NotFound, NotMember, TooManyReactions
from chat.models import Message, Reaction
from chat.selectors import membership_of

EMOJI_MAX_CHARS = 32

# Unicode's Extended_Pictographic code points (emoji-data.txt; the same list since
# Unicode 13). It includes blocks reserved for future emoji on purpose: an emoji
# newer than this Python's Unicode tables is still accepted.
_PICTOGRAPHIC = (
    "\u00a9\u00ae\u203c\u2049\u2122\u2139\u2194-\u2199\u21a9-\u21aa\u231a-\u231b"
    "\u2328\u2388\u23cf\u23e9-\u23f3\u23f8-\u23fa\u24c2\u25aa-\u25ab\u25b6\u25c0"
    "\u25fb-\u25fe\u2600-\u2605\u2607-\u2612\u2614-\u2685\u2690-\u2705\u2708-\u2712"
    "\u2714\u2716\u271d\u2721\u2728\u2733-\u2734\u2744\u2747\u274c\u274e"
    "\u2753-\u2755\u2757\u2763-\u2767\u2795-\u2797\u27a1\u27b0\u27bf\u2934-\u2935"
    "\u2b05-\u2b07\u2b1b-\u2b1c\u2b50\u2b55\u3030\u303d\u3297\u3299"
    "\U0001f000-\U0001f0ff\U0001f10d-\U0001f10f\U0001f12f\U0001f16c-\U0001f171"
    "\U0001f17e-\U0001f17f\U0001f18e\U0001f191-\U0001f19a\U0001f1ad-\U0001f1e5"
    "\U0001f201-\U0001f20f\U0001f21a\U0001f22f\U0001f232-\U0001f23a"
    "\U0001f23c-\U0001f23f\U0001f249-\U0001f3fa\U0001f400-\U0001f53d"
    "\U0001f546-\U0001f64f\U0001f680-\U0001f6ff\U0001f774-\U0001f77f"
    "\U0001f7d5-\U0001f7ff\U0001f80c-\U0001f80f\U0001f848-\U0001f84f"
    "\U0001f85a-\U0001f85f\U0001f888-\U0001f88f\U0001f8ae-\U0001f8ff"
    "\U0001f90c-\U0001f93a\U0001f93c-\U0001f945\U0001f947-\U0001faff"
    "\U0001fc00-\U0001fffd"
)
_SKIN_TONE = "[\U0001f3fb-\U0001f3ff]"
_VARIATION = "[\ufe0e\ufe0f]"
# A subdivision flag (England, Scotland, Wales): black flag, tag letters, cancel tag.
_TAGS = "[\U000e0020-\U000e007e]+\U000e007f"
# One pictograph with its optional presentation selector, skin tone and tags.
_ELEMENT = f"[{_PICTOGRAPHIC}]{_VARIATION}?{_SKIN_TONE}?{_VARIATION}?(?:{_TAGS})?"
_FLAG = "[\U0001f1e6-\U0001f1ff]{2}"  # two regional indicators
_KEYCAP = "[0-9#*]\ufe0f?\u20e3"
# One emoji as a user sees it (UTS #51): a flag, a keycap, or pictographs joined by
# zero-width joiners (families, professions, rainbow flag...).
_EMOJI = re.compile(f"{_FLAG}|{_KEYCAP}|{_ELEMENT}(?:\u200d{_ELEMENT})*")
# The same rule as a whole-string pattern, for the API's schema.
EMOJI_PATTERN = f"^(?:{_EMOJI.pattern})$"


def emoji_clean(emoji: str) -> str:
    """The emoji as stored, or InvalidEmoji: exactly one emoji, nothing around it.

    Stored as sent; a message's reactions are compared by `emoji_key`, so that
    "❤" and "❤️" (with the emoji presentation selector) are one reaction.
    """
    if len(emoji) > EMOJI_MAX_CHARS or not _EMOJI.fullmatch(emoji):
        raise InvalidEmoji(
            _("A reaction must be a single emoji (at most %(max)d characters).")
            % {"max": EMOJI_MAX_CHARS}
        )
    return emoji


def emoji_key(emoji: str) -> str:
    """What makes two emoji the same reaction: everything but the presentation
    selectors, which keyboards add or leave out ("❤" and "❤️" are one heart)."""
    return emoji.replace("\ufe0f", "").replace("\ufe0e", "")


def _as_on_message(emoji: str, reactions: list[Reaction]) -> str:
    """The emoji as the message already carries it, if it carries it in another
    form: people reacting with either form join one reaction."""
    key = emoji_key(emoji)
    return next((r.emoji for r in reactions if emoji_key(r.emoji) == key), emoji)


def reaction_add(*, message: Message, user, emoji: str) -> bool:
    """Add the user's emoji to a message and broadcast `reaction.updated`; returns
    whether it was new. Adding it again changes and broadcasts nothing (but counts
    towards the user's reaction rate, as every attempt does).

    Afterwards `message.reaction_list` holds the message's reactions as committed.
    """
    emoji = emoji_clean(emoji)
    ratelimits.check_reaction(user)
    with transaction.atomic():
        reactions = _lock_for_reacting(message=message, user=user)
        emoji = _as_on_message(emoji, reactions)
        if any(r.user_id == user.pk and r.emoji == emoji for r in reactions):
            message.reaction_list = reactions
            return False
        present = {reaction.emoji for reaction in reactions}
        if emoji not in present and len(present) >= settings.CHAT_REACTION_EMOJI_MAX:
            raise TooManyReactions(
                _("A message may carry at most %(max)d different reactions.")
                % {"max": settings.CHAT_REACTION_EMOJI_MAX}
            )
        reaction = Reaction.objects.create(
            message_id=message.pk, user=user, emoji=emoji
        )
        message.reaction_list = [*reactions, reaction]
        _broadcast_after_commit(message=message, user=user, emoji=emoji, added=True)
    return True


def reaction_remove(*, message: Message, user, emoji: str) -> bool:
    """Remove the user's emoji from a message and broadcast `reaction.updated`;
    returns whether there was one. Removing an absent one changes nothing."""
    emoji = emoji_clean(emoji)
    ratelimits.check_reaction(user)
    with transaction.atomic():
        reactions = _lock_for_reacting(message=message, user=user)
        emoji = _as_on_message(emoji, reactions)
        mine = [r for r in reactions if r.user_id == user.pk and r.emoji == emoji]
        message.reaction_list = [r for r in reactions if r not in mine]
        if not mine:
            return False
        Reaction.objects.filter(pk=mine[0].pk).delete()
        _broadcast_after_commit(message=message, user=user, emoji=emoji, added=False)
    return True


def _lock_for_reacting(*, message: Message, user) -> list[Reaction]:
    """Check the user may react to the message, and return its reactions.

    Locks the message's row (as `message_edit` does) so that reaction changes to
    one message are serialised: the distinct-emoji cap holds, and each broadcast
    carries the state its own commit left, never one that misses a concurrent
    change committed just before it.
    """
    locked = (
        Message.objects.select_for_update().only("id", "deleted_at").get(pk=message.pk)
    )
    if locked.deleted_at is not None:
        raise NotFound(_("No such message."))
    membership = membership_of(user=user, room=message.room)
    if membership is None:
        raise NotMember(_("Only members of the room may react to its messages."))
    if membership.is_muted(at=timezone.now()):
        raise Muted(muted_until=membership.muted_until)
    return list(
        Reaction.objects.filter(message_id=message.pk)
        .select_related("user")
        .order_by("id")
    )


def _broadcast_after_commit(*, message: Message, user, emoji: str, added: bool):
    users = [
        protocol.user_object(reaction.user)
        for reaction in message.reaction_list
        if reaction.emoji == emoji
    ]
    room_id, room_slug, message_id = message.room_id, message.room.slug, message.pk
    actor = protocol.user_object(user)
    transaction.on_commit(
        lambda: events.reaction_updated(
            room_id=room_id,
            room_slug=room_slug,
            message_id=message_id,
            emoji=emoji,
            users=users,
            actor=actor,
            added=added,
        ),
        robust=True,
    )
