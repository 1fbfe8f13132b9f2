"""The WebSocket wire format: decoding and validating client frames, encoding
server ones.

Pure functions and small value types, no I/O: what a frame must look like is decided
here, what it does is decided by the consumer and the services. See docs/protocol.md.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from chat.errors import BadFrame, BadJson, UnknownType

CLIENT_ID_MAX_CHARS = 64


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


Command = Subscribe | Unsubscribe | MessageSend | Typing | Read | Ping


def decode_frame(text: str) -> dict:
    """Parse a text frame into a JSON object, or raise BadJson / BadFrame."""
    try:
        # orjson is strict: it refuses NaN/Infinity, lone surrogates, integers beyond
        # 64 bits and nesting deeper than 1024, all of which are `bad_json` here.
        frame = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise BadJson(f"The frame is not valid JSON: {error}.") from None
    if not isinstance(frame, dict):
        raise BadFrame("A frame must be a JSON object.")
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


def _room(frame: dict) -> str:
    room = frame.get("room")
    if not isinstance(room, str) or not room:
        raise BadFrame("'room' must be a non-empty string.")
    return room


def _non_negative_int(frame: dict, field: str, *, optional: bool) -> int | None:
    value = frame.get(field)
    if value is None and optional:
        return None
    # bool is an int subclass in Python; the contract says `true` is not an integer.
    if type(value) is not int or value < 0:
        raise BadFrame(f"'{field}' must be an integer >= 0.")
    return value


def _client_id(frame: dict) -> str:
    client_id = frame.get("client_id")
    if not isinstance(client_id, str) or not 1 <= len(client_id) <= CLIENT_ID_MAX_CHARS:
        raise BadFrame(
            f"'client_id' must be a string of 1 to {CLIENT_ID_MAX_CHARS} characters."
        )
    return client_id


def _body(frame: dict) -> str:
    body = frame.get("body")
    if not isinstance(body, str):
        raise BadFrame("'body' must be a string.")
    return body


def parse_command(frame: dict) -> Command:
    """Turn a decoded frame into a command, or raise BadFrame / UnknownType."""
    frame_type = frame.get("type")
    if not isinstance(frame_type, str):
        raise BadFrame("'type' must be a string.")
    if frame_type == "message.send":
        return MessageSend(_room(frame), _body(frame), _client_id(frame))
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
    raise UnknownType(f"Unknown frame type {frame_type[:40]!r}.")


def encode(frame: dict) -> str:
    return orjson.dumps(frame).decode()


def timestamp(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with microseconds and a Z, the contract's one time format."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def user_object(user) -> dict:
    return {"id": user.pk, "username": user.username}


def message_object(message, *, room_slug: str | None = None) -> dict:
    """The message object of the contract; the REST API returns exactly this."""
    return {
        "id": message.pk,
        "room": room_slug if room_slug is not None else message.room.slug,
        "author": user_object(message.author),
        "body": message.body,
        "created_at": timestamp(message.created_at),
        "edited_at": timestamp(message.edited_at),
        "client_id": message.client_id,
    }


def error_frame(code: str, detail: str, ref: str | None) -> dict:
    return {"type": "error", "code": code, "detail": detail, "ref": ref}
