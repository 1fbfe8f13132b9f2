"""The WebSocket wire format: decoding and validating client frames, encoding
server ones.

Pure functions and small value types, no I/O: what a frame must look like is decided
here, what it does is decided by the consumer and the services. See docs/protocol.md.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

import orjson
from django.utils.translation import gettext as _

from chat.errors import BadFrame, BadJson, UnknownType

CLIENT_ID_MAX_CHARS = 64
ATTACHMENT_IDS_MAX = 100


@dataclass(frozen=True, slots=True)
class Subscribe:
    room: str
    since: int | None


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    room: str


@dataclass(frozen=True, slots=True)
class MessageSend:
    room: str
    body: str
    client_id: str
    # Ids of the sender's uploads to carry (chat.attachments checks them).
    attachments: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Typing:
    room: str


@dataclass(frozen=True, slots=True)
class Read:
    room: str
    last_id: int


@dataclass(frozen=True, slots=True)
class Ping:
    pass


@dataclass(frozen=True, slots=True)
class DirectOpen:
    username: str


@dataclass(frozen=True, slots=True)
class MessageEdit:
    id: int
    body: str


@dataclass(frozen=True, slots=True)
class MessageDelete:
    id: int


@dataclass(frozen=True, slots=True)
class ReactionAdd:
    message_id: int
    emoji: str


@dataclass(frozen=True, slots=True)
class ReactionRemove:
    message_id: int
    emoji: str


Command = (
    Subscribe
    | Unsubscribe
    | MessageSend
    | Typing
    | Read
    | Ping
    | DirectOpen
    | MessageEdit
    | MessageDelete
    | ReactionAdd
    | ReactionRemove
)


def decode_frame(text: str) -> dict:
    """Parse a text frame into a JSON object, or raise BadJson / BadFrame."""
    try:
        # orjson is strict: it refuses NaN/Infinity, lone surrogates, integers beyond
        # 64 bits and nesting deeper than 1024, all of which are `bad_json` here.
        frame = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise BadJson(
            _("The frame is not valid JSON: %(error)s.") % {"error": error}
        ) from None
    if not isinstance(frame, dict):
        raise BadFrame(_("A frame must be a JSON object."))
    return frame


def frame_ref(frame: object) -> str | None:
    """The `ref` of an error answering this frame: its client_id, else its type."""
    if not isinstance(frame, dict):
        return None
    client_id = frame.get("client_id")
    if isinstance(client_id, str):
        return client_id
    frame_type = frame.get("type")
    return frame_type if isinstance(frame_type, str) else None


def _no_nul(field: str, value: str) -> str:
    # Rooms, users and client_ids are looked up in the database, and no stored text
    # holds NUL (PostgreSQL refuses it outright): a name carrying one is malformed,
    # not a lookup to attempt.
    if "\x00" in value:
        raise BadFrame(
            _("'%(field)s' must not contain NUL characters.") % {"field": field}
        )
    return value


def _room(frame: dict) -> str:
    room = frame.get("room")
    if not isinstance(room, str) or not room:
        raise BadFrame(_("'%(field)s' must be a non-empty string.") % {"field": "room"})
    return _no_nul("room", room)


def _non_negative_int(frame: dict, field: str, *, optional: bool) -> int | None:
    value = frame.get(field)
    if value is None and optional:
        return None
    # bool is an int subclass in Python; the contract says `true` is not an integer.
    if type(value) is not int or value < 0:
        raise BadFrame(_("'%(field)s' must be an integer >= 0.") % {"field": field})
    return value


def _client_id(frame: dict) -> str:
    client_id = frame.get("client_id")
    if not isinstance(client_id, str) or not 1 <= len(client_id) <= CLIENT_ID_MAX_CHARS:
        raise BadFrame(
            _("'%(field)s' must be a string of 1 to %(max)d characters.")
            % {"field": "client_id", "max": CLIENT_ID_MAX_CHARS}
        )
    return _no_nul("client_id", client_id)


def _body(frame: dict) -> str:
    body = frame.get("body")
    if not isinstance(body, str):
        raise BadFrame(_("'%(field)s' must be a string.") % {"field": "body"})
    return body


def _attachment_ids(frame: dict) -> tuple[int, ...]:
    ids = frame.get("attachments")
    if ids is None:
        return ()
    # How many a message may carry is the service's rule; this bound only keeps a
    # frame from making it look up thousands.
    if (
        not isinstance(ids, list)
        or len(ids) > ATTACHMENT_IDS_MAX
        or any(type(item) is not int or item < 1 for item in ids)
    ):
        raise BadFrame(
            _("'%(field)s' must be a list of attachment ids (integers).")
            % {"field": "attachments"}
        )
    return tuple(ids)


def _emoji(frame: dict) -> str:
    # Only the type is checked here; what counts as one emoji is the service's rule
    # (chat.reactions.emoji_clean), shared with the REST API.
    emoji = frame.get("emoji")
    if not isinstance(emoji, str):
        raise BadFrame(_("'%(field)s' must be a string.") % {"field": "emoji"})
    return emoji


def parse_command(frame: dict) -> Command:
    """Turn a decoded frame into a command, or raise BadFrame / UnknownType."""
    frame_type = frame.get("type")
    if not isinstance(frame_type, str):
        raise BadFrame(_("'%(field)s' must be a string.") % {"field": "type"})
    if frame_type == "message.send":
        return MessageSend(
            _room(frame),
            _body(frame),
            _client_id(frame),
            attachments=_attachment_ids(frame),
        )
    if frame_type == "subscribe":
        return Subscribe(_room(frame), _non_negative_int(frame, "since", optional=True))
    if frame_type == "unsubscribe":
        return Unsubscribe(_room(frame))
    if frame_type == "typing":
        return Typing(_room(frame))
    if frame_type == "read":
        return Read(_room(frame), _non_negative_int(frame, "last_id", optional=False))
    if frame_type == "ping":
        return Ping()
    if frame_type == "direct.open":
        username = frame.get("username")
        if not isinstance(username, str) or not 1 <= len(username) <= 150:
            raise BadFrame(
                _("'%(field)s' must be a string of 1 to %(max)d characters.")
                % {"field": "username", "max": 150}
            )
        return DirectOpen(_no_nul("username", username))
    if frame_type == "message.edit":
        return MessageEdit(_non_negative_int(frame, "id", optional=False), _body(frame))
    if frame_type == "message.delete":
        return MessageDelete(_non_negative_int(frame, "id", optional=False))
    if frame_type in ("reaction.add", "reaction.remove"):
        command = ReactionAdd if frame_type == "reaction.add" else ReactionRemove
        return command(
            _non_negative_int(frame, "message_id", optional=False), _emoji(frame)
        )
    raise UnknownType(
        _("Unknown frame type %(type)s.") % {"type": repr(frame_type[:40])}
    )


def encode(frame: dict) -> str:
    return orjson.dumps(frame).decode()


def timestamp(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with microseconds and a Z, the contract's one time format."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def user_object(user) -> dict:
    return {"id": user.pk, "username": user.username}


def message_object(
    message,
    *,
    room_slug: str | None = None,
    attachments: list | None = None,
    reactions: list | None = None,
    mentions: list | None = None,
) -> dict:
    """The message object of the contract; the REST API returns exactly this.

    A caller that knows the message's attachments, reactions (Reaction rows) or
    mentioned users passes them (a message just stored has none: no query, no
    prefetch); otherwise they are read from the message as loaded.
    """
    if attachments is None:
        # Known already for a page read on the event loop (chat.selectors).
        attachments = getattr(message, "attachment_list", None)
    if attachments is None:
        # Prefetched for history pages and by attachments_attach: no query each.
        attachments = message.attachments.all()
    return {
        "id": message.pk,
        "room": room_slug if room_slug is not None else message.room.slug,
        "author": user_object(message.author),
        "body": message.body,
        "created_at": timestamp(message.created_at),
        "edited_at": timestamp(message.edited_at),
        "client_id": message.client_id,
        "attachments": [attachment_object(attachment) for attachment in attachments],
        "reactions": reactions_object(message, reactions),
        "mentions": (
            _mentions(message)
            if mentions is None
            else [user_object(user) for user in mentions]
        ),
    }


def _mentions(message) -> list[dict]:
    rows = getattr(message, "current_mentions", None)
    if rows is None:
        # Not attached by `chat.mentions` (a single message read on its own, such as
        # a restored one): one query. Pages and new messages come with them attached.
        rows = message.mentions.filter(in_body=True).select_related("user")
        rows = rows.order_by("id")
    return [user_object(row.user) for row in rows]


def attachment_object(attachment) -> dict:
    """An uploaded file as clients see it; `url` serves it to members only."""
    # Not reverse(): the object must be the same whichever request or socket builds
    # it, so it cannot depend on a request's script prefix (chat/urls.py routes it).
    url = f"/attachments/{attachment.pk}/{quote(attachment.original_name, safe='')}"
    return {
        "id": attachment.pk,
        "name": attachment.original_name,
        "size": attachment.size,
        "content_type": attachment.content_type,
        "is_image": attachment.is_image,
        "url": url,
    }


def room_summary(room, *, peer=None, unread_count: int = 0) -> dict:
    """A room as a sidebar lists it: `room.added` frames and `GET /direct/` carry it.
    A direct conversation names the other person as `peer`."""
    summary = {
        "slug": room.slug,
        "name": room.name,
        "kind": room.kind,
        "is_private": room.is_private,
        "last_message_id": room.last_message_id,
        "unread_count": unread_count,
    }
    if peer is not None:
        summary["peer"] = user_object(peer)
    return summary


def reactions_object(message, reactions: list | None = None) -> list[dict]:
    """The message's reactions: one entry per emoji, in order of its first reaction,
    each with its users in the order they reacted.

    Reads `message.reaction_list` when the caller loaded it (pages prefetch it for
    every message at once, see chat.selectors; a new message sets it empty), else
    the message's reactions, in one query.
    """
    if reactions is None:
        reactions = getattr(message, "reaction_list", None)
    if reactions is None:
        reactions = message.reactions.select_related("user").order_by("id")
    groups: dict[str, dict] = {}
    for reaction in reactions:
        group = groups.get(reaction.emoji)
        if group is None:
            group = groups[reaction.emoji] = {
                "emoji": reaction.emoji,
                "count": 0,
                "users": [],
            }
        group["count"] += 1
        group["users"].append(user_object(reaction.user))
    return list(groups.values())


def error_frame(
    code: str, detail: str, ref: str | None, fields: dict | None = None
) -> dict:
    """An `error` frame; `fields` are the error's own facts (ChatError.fields)."""
    return {
        "type": "error",
        "code": code,
        "detail": detail,
        "ref": ref,
        **(fields or {}),
    }
