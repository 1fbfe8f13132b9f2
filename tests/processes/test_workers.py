"""`python -m chatsite.serve --workers 2`: two Daphne workers accept on one port and
share Redis; a worker that dies is replaced; SIGTERM closes every socket with 1012."""

import asyncio
import json
import os
import signal
import socket
import time
import urllib.request

import pytest
import websockets
from channels.db import database_sync_to_async

from chat import services
from tests.prometheus import parse
from tests.servers import (
    ChatServer,
    free_port,
    next_frame,
    subscribe_over,
    websocket_for,
)
from tests.sockets import session_cookie

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]


def two_free_ports() -> int:
    """A port P with P and P+1 free (for the workers' private metrics ports)."""
    for _ in range(50):
        base = free_port()
        try:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", base + 1))
            return base
        except OSError:
            continue
    raise RuntimeError("no two consecutive free ports")


@pytest.fixture
def metrics_base():
    return two_free_ports()


@pytest.fixture
def workers_server(redis_url, transactional_db, metrics_base):
    server = ChatServer(
        args=["--workers", "2", "--metrics-port", str(metrics_base)]
    ).start()
    # The supervisor listens at once; the workers take a moment to start.
    deadline = time.monotonic() + 20
    for port in (metrics_base, metrics_base + 1):
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:  # polling a port that is not open yet: no event to await
                assert time.monotonic() < deadline, f"worker port {port} never opened"
                time.sleep(0.05)
    yield server
    server.stop()


def worker_state(port: int) -> tuple[int, float]:
    """(pid, open sockets) of the worker behind one private port."""
    base = f"http://127.0.0.1:{port}"
    with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:
        pid = json.loads(response.read())["pid"]
    with urllib.request.urlopen(f"{base}/metrics", timeout=5) as response:
        return pid, parse(response.read().decode())["chat_open_sockets"]


async def workers(metrics_base: int) -> list[tuple[int, float]]:
    return [await asyncio.to_thread(worker_state, metrics_base + i) for i in (0, 1)]


def private_url(port: int) -> ChatServer:
    """A ChatServer handle on one worker's private port (for websocket_for)."""
    return ChatServer(port=port)


async def open_member(server, make_user, general, name: str):
    user = await database_sync_to_async(make_user)(name)
    await database_sync_to_async(services.room_join)(user=user, room=general)
    socket = await websocket_for(server, await session_cookie(user))
    await subscribe_over(socket, "general")
    return socket


async def test_two_workers_share_the_port_and_the_rooms(
    workers_server, metrics_base, make_user, general
):
    shared = [
        await open_member(workers_server, make_user, general, f"w{index}")
        for index in range(10)
    ]
    # Every socket opened on the shared port is on one of the two workers, and each
    # worker reports its own (two different processes).
    (pid_a, count_a), (pid_b, count_b) = await workers(metrics_base)
    assert pid_a != pid_b
    assert count_a + count_b == len(shared)
    # One socket pinned to each worker through its private port.
    on_a = await open_member(private_url(metrics_base), make_user, general, "on-a")
    on_b = await open_member(private_url(metrics_base + 1), make_user, general, "on-b")
    sockets = [*shared, on_a, on_b]
    assert [count for _, count in await workers(metrics_base)] == [
        count_a + 1,
        count_b + 1,
    ]
    # A message sent on either worker reaches every socket, whichever worker has it.
    for index, sender in enumerate((on_a, on_b, shared[0])):
        frame = {"type": "message.send", "room": "general", "body": f"m{index}"}
        await sender.send(json.dumps({**frame, "client_id": f"c{index}"}))
        for socket_ in sockets:
            received = await next_frame(socket_, "message.new")
            assert received["message"]["body"] == f"m{index}"
    for socket_ in sockets:
        await socket_.close()


async def test_a_dead_worker_is_replaced(workers_server, metrics_base):
    (victim, _), (other, _) = await workers(metrics_base)
    os.kill(victim, signal.SIGKILL)
    # The supervisor starts a new worker in the same slot; the other one lives on.
    deadline = time.monotonic() + 20
    while True:
        assert time.monotonic() < deadline, "no worker came back"
        try:
            pid, _ = await asyncio.to_thread(worker_state, metrics_base)
        except OSError:  # the slot's port is not open again yet: poll
            await asyncio.sleep(0.1)
            continue
        if pid != victim:
            break
    assert pid not in (victim, other)
    assert (await workers(metrics_base))[1][0] == other
    assert workers_server.process.poll() is None


async def test_sigterm_closes_every_workers_sockets_with_1012(
    workers_server, metrics_base, make_user, general
):
    sockets = [
        await open_member(workers_server, make_user, general, "t0"),
        await open_member(private_url(metrics_base), make_user, general, "t1"),
        await open_member(private_url(metrics_base + 1), make_user, general, "t2"),
    ]
    workers_server.process.send_signal(signal.SIGTERM)
    for socket_ in sockets:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(socket_.recv(), 10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
    assert await asyncio.to_thread(workers_server.process.wait, 35) == 0
