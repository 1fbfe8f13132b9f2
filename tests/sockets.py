"""Helpers for driving the real ASGI application's socket in tests."""

import json
import uuid

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connection
from django.test import Client

from chat import services
from chatsite.asgi import application

ORIGIN = "http://127.0.0.1"
# The headers a browser on the site's own page sends with a handshake: the Origin
# check compares the origin's scheme, host and port with these (chatsite.origins).
SITE_HEADERS = [(b"host", b"127.0.0.1"), (b"origin", ORIGIN.encode())]


@sync_to_async
def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    # This runs on a worker thread whose connection nobody else closes; an open one
    # would keep the test database from being dropped at the end of the run.
    connection.close()
    return client.cookies["sessionid"].value


async def open_socket(
    user=None, *, origin: str | None = ORIGIN
) -> WebsocketCommunicator:
    """Connect through the full stack (Origin check, session auth); hello not read."""
    headers = [(b"host", b"127.0.0.1")]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if user is not None:
        headers.append((b"cookie", f"sessionid={await session_cookie(user)}".encode()))
    communicator = WebsocketCommunicator(application, "/ws/chat/", headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def open_socket_with_cookie(cookie: str) -> WebsocketCommunicator:
    """Connect with this Cookie header (and our Origin); hello not read."""
    headers = [*SITE_HEADERS, (b"cookie", cookie.encode())]
    communicator = WebsocketCommunicator(application, "/ws/chat/", headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def open_chat(user) -> WebsocketCommunicator:
    """A signed-in socket whose hello has been read."""
    communicator = await open_socket(user)
    hello = await receive(communicator)
    assert hello["type"] == "hello"
    return communicator


# Frames that arrive on their own schedule; tests about other things skip them.
BACKGROUND_FRAMES = ("presence",)


async def receive(communicator, timeout: float = 3, *, skip=BACKGROUND_FRAMES) -> dict:
    """The next frame, skipping background ones (presence) unless skip=()."""
    while True:
        frame = json.loads(await communicator.receive_from(timeout=timeout))
        if frame["type"] not in skip:
            return frame


async def send(communicator, frame: dict) -> None:
    await communicator.send_to(text_data=json.dumps(frame))


async def subscribe(communicator, room: str, since=None) -> tuple[list[dict], dict]:
    """Subscribe; returns (replayed message.new frames, the subscribed frame)."""
    frame = {"type": "subscribe", "room": room}
    if since is not None:
        frame["since"] = since
    await send(communicator, frame)
    replayed = []
    while True:
        answer = await receive(communicator)
        if answer["type"] == "subscribed":
            return replayed, answer
        assert answer["type"] == "message.new", answer
        replayed.append(answer)


async def frames_until_pong(communicator, *, skip=BACKGROUND_FRAMES) -> list[dict]:
    """Send a ping and return every frame that arrives before its pong.

    The consumer answers frames in order, so anything it sent in answer to earlier
    frames is in the list: an event to await instead of sleeping. It says nothing
    about broadcasts (on the pub/sub layer one can arrive after the pong): for
    those, use frames_before_later_message.
    """
    await send(communicator, {"type": "ping"})
    frames = []
    while True:
        frame = await receive(communicator, skip=skip)
        if frame["type"] == "pong":
            return frames
        frames.append(frame)


async def frames_before_later_message(room, author, *communicators) -> list[list[dict]]:
    """Store one more message in the room and return, for each socket (subscribed to
    the room), every frame that arrives before it, background frames skipped.

    How a test proves that a room event did NOT come: the room's events reach a
    socket in the order they were sent, so one sent earlier arrives before this
    later message. (A pong proves nothing there: a broadcast can follow it.)
    """
    later, _ = await database_sync_to_async(services.message_create)(
        room=room, author=author, body="later", client_id=f"{LATER}{uuid.uuid4()}"
    )
    return [
        await _frames_before(communicator, "message.new", later.pk)
        for communicator in communicators
    ]


async def frames_before_later_mention(
    room, author, user, *communicators
) -> list[list[dict]]:
    """Like frames_before_later_message, for what is sent to the user (mentions):
    a later message mentions them, and each of their sockets returns every frame
    before that mention."""
    later, _ = await database_sync_to_async(services.message_create)(
        room=room,
        author=author,
        body=f"@{user.username} later",
        client_id=f"{LATER}{uuid.uuid4()}",
    )
    return [
        await _frames_before(communicator, "mention", later.pk)
        for communicator in communicators
    ]


# client_id of the later messages above: their own message.new frames are left out.
LATER = "later-"


async def _frames_before(communicator, frame_type: str, message_id: int) -> list[dict]:
    frames = []
    while True:
        frame = await receive(communicator)
        if frame["type"] == frame_type and frame["message"]["id"] == message_id:
            return frames
        if frame["type"] == "message.new" and frame["message"]["client_id"].startswith(
            LATER
        ):
            continue
        frames.append(frame)
