"""Helpers for driving the real ASGI application's socket in tests."""

import json

from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connection
from django.test import Client

from chatsite.asgi import application

ORIGIN = "http://127.0.0.1"


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
    headers = []
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
    headers = [(b"origin", ORIGIN.encode()), (b"cookie", cookie.encode())]
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


async def nothing_more(communicator, timeout: float = 0.2) -> bool:
    return await communicator.receive_nothing(timeout=timeout)


async def frames_until_pong(communicator, *, skip=BACKGROUND_FRAMES) -> list[dict]:
    """Send a ping and return every frame that arrives before its pong.

    The consumer answers frames in order, so anything it sent in answer to earlier
    frames is in the list: an event to await instead of sleeping.
    """
    await send(communicator, {"type": "ping"})
    frames = []
    while True:
        frame = await receive(communicator, skip=skip)
        if frame["type"] == "pong":
            return frames
        frames.append(frame)
