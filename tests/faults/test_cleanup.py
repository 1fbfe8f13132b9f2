"""After any kind of disconnect nothing is left behind: no group entry, no presence
entry, no open-socket count, no asyncio task; in Redis and in the server process."""

import asyncio
import time
import urllib.request

import pytest
import websockets
from channels.db import database_sync_to_async

from chat import services
from tests.layer import group_subscribers, presence_entries
from tests.rawsocket import RawSocket, masked_frame
from tests.servers import ChatServer, subscribe_over, websocket_for
from tests.sockets import session_cookie

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]

PER_KIND = 20
# Short enough that a killed process's entries expire within the test.
FAST_EXPIRY = {"CHAT_HEARTBEAT_SECONDS": "1", "CHANNEL_LAYER_GROUP_EXPIRY": "6"}


def server_metrics(server: ChatServer) -> dict[str, float]:
    with urllib.request.urlopen(f"{server.http_url}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {
        line.split()[0]: float(line.split()[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }


async def eventually(check, timeout: float) -> None:
    """Poll a condition that changes on the server's own schedule (expiry)."""
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.2)


async def open_client(server, cookie):
    """A subscribed client that keeps the one-second heartbeat going."""
    socket = await websocket_for(server, cookie)
    await subscribe_over(socket, "general")
    socket.heartbeat = asyncio.ensure_future(keep_alive(socket))
    return socket


async def keep_alive(socket):
    try:
        while True:
            await socket.send('{"type": "ping"}')
            await asyncio.sleep(0.5)  # the protocol's heartbeat: a frame per interval
    except websockets.ConnectionClosed:
        pass


@pytest.fixture
def two_servers(redis_url, transactional_db):
    servers = [ChatServer(extra_env=FAST_EXPIRY).start() for _ in range(2)]
    yield servers
    for server in servers:
        server.stop(kill=True)


async def test_clean_closes_drops_and_a_killed_process_leave_nothing_behind(
    two_servers, make_user, general
):
    survivor, doomed = two_servers
    users = []
    for index in range(4 * PER_KIND):
        user = await database_sync_to_async(make_user)(f"u{index}")
        await database_sync_to_async(services.room_join)(user=user, room=general)
        users.append((user, await session_cookie(user)))
    stayers = [await open_client(survivor, c) for _, c in users[:PER_KIND]]
    baseline_tasks = server_metrics(survivor)["chat_asyncio_tasks"]

    closers = [
        await open_client(survivor, c) for _, c in users[PER_KIND : 2 * PER_KIND]
    ]
    droppers = []
    for _, cookie in users[2 * PER_KIND : 3 * PER_KIND]:
        raw = RawSocket(survivor.port, cookie)
        raw.send_json({"type": "subscribe", "room": "general"})
        droppers.append(raw)
    on_doomed = [await open_client(doomed, c) for _, c in users[3 * PER_KIND :]]
    assert len(on_doomed) == PER_KIND

    async def all_subscribed():
        return await presence_entries(general.pk) == 4 * PER_KIND

    await eventually(all_subscribed, timeout=20)

    for socket in closers:
        await socket.close()  # clean close frame
    for raw in droppers:
        raw.abort()  # TCP reset, no close frame
    doomed.stop(kill=True)  # SIGKILL: the process cleans up nothing

    async def only_stayers_remain():
        # The room's group: only the survivor process still subscribes (the killed
        # process's subscriptions ended with its Redis connection); presence: only
        # the stayers' sockets, on either server.
        subscribers = await group_subscribers(general.group_name)
        entries = await presence_entries(general.pk)
        return subscribers == 1 and entries == PER_KIND

    await eventually(only_stayers_remain, timeout=30)

    async def no_user_group_left():
        for user, _ in users[PER_KIND:]:
            if await group_subscribers(f"user.{user.pk}"):
                return False
        return True

    await eventually(no_user_group_left, timeout=15)
    metrics = server_metrics(survivor)
    assert metrics["chat_open_sockets"] == PER_KIND
    assert metrics["chat_asyncio_tasks"] <= baseline_tasks + 2
    for socket in stayers:
        await socket.close()

    async def none_open():
        return server_metrics(survivor)["chat_open_sockets"] == 0

    await eventually(none_open, timeout=10)


async def test_sockets_that_fail_while_the_server_answers_them_are_cleaned_up(
    redis_url, transactional_db, make_user, general
):
    """A valid frame and one the server fails the connection for (a reserved
    opcode), in one TCP write: the answer to the first is sent on a closed
    connection, and Daphne then delivers no disconnect. The socket's slot, presence
    entry and gauge must go all the same; the heartbeat is the default 25 s, so
    nothing expires on its own during the test."""
    server = ChatServer(extra_env={"CHAT_MAX_SOCKETS_PER_USER": "3"}).start()
    try:
        user = await database_sync_to_async(make_user)("fails")
        await database_sync_to_async(services.room_join)(user=user, room=general)
        cookie = await session_cookie(user)
        for _ in range(3):
            raw = RawSocket(server.port, cookie)
            assert b'"hello"' in raw.receive_frame()[1]
            raw.send_json({"type": "subscribe", "room": "general"})
            while b'"subscribed"' not in raw.receive_frame()[1]:
                pass
            raw.send_bytes_at_once(
                masked_frame(b'{"type": "ping"}') + masked_frame(b"x", opcode=0x3)
            )

        async def all_cleaned_up():
            return (
                server_metrics(server)["chat_open_sockets"] == 0
                and await presence_entries(general.pk) == 0
            )

        await eventually(all_cleaned_up, timeout=15)
        # The account's slots are free: a fourth socket is admitted.
        socket = await websocket_for(server, cookie)
        assert (await subscribe_over(socket, "general"))["type"] == "subscribed"
        await socket.close()
    finally:
        server.stop()
