"""`python -m chatsite.serve --workers 2`: two Daphne workers accept on one port and
share Redis; a worker that dies is replaced; SIGTERM closes every socket with 1012."""

import asyncio
import http.client
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
    yield server
    server.stop()


def worker_sockets(server: ChatServer) -> tuple[int, float]:
    """(pid, open sockets) of whichever worker accepts this HTTP connection: both
    requests go over one keep-alive connection, so to the same worker."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        connection.request("GET", "/healthz")
        pid = json.loads(connection.getresponse().read())["pid"]
        connection.request("GET", "/metrics")
        metrics = parse(connection.getresponse().read().decode())
        return pid, metrics["chat_open_sockets"]
    finally:
        connection.close()


async def sockets_by_worker(server: ChatServer, expected_total: int) -> dict:
    """Ask new connections until both workers answered and their counts add up."""
    seen: dict[int, float] = {}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        pid, count = await asyncio.to_thread(worker_sockets, server)
        seen[pid] = count
        if len(seen) == 2 and sum(seen.values()) == expected_total:
            return seen
    raise AssertionError(f"workers seen: {seen}")


async def test_two_workers_share_the_port_and_the_rooms(
    workers_server, make_user, general
):
    users = []
    for index in range(12):
        user = await database_sync_to_async(make_user)(f"w{index}")
        await database_sync_to_async(services.room_join)(user=user, room=general)
        users.append(user)
    sockets = []
    for user in users:
        socket = await websocket_for(workers_server, await session_cookie(user))
        await subscribe_over(socket, "general")
        sockets.append(socket)
    # Each socket is on one of the two workers; both carry some of them (the
    # kernel spreads accepted connections, and 12 all on one side would fail here).
    by_worker = await sockets_by_worker(workers_server, len(sockets))
    assert all(count >= 1 for count in by_worker.values()), by_worker

    # A message sent on any socket reaches every socket, whichever worker holds it.
    for index in (0, 5, 11):
        frame = {"type": "message.send", "room": "general", "body": f"m{index}"}
        await sockets[index].send(json.dumps({**frame, "client_id": f"c{index}"}))
        for socket in sockets:
            received = await next_frame(socket, "message.new")
            assert received["message"]["body"] == f"m{index}"
    for socket in sockets:
        await socket.close()


async def test_a_dead_worker_is_replaced(workers_server):
    pids = set()
    deadline = time.monotonic() + 20
    while len(pids) < 2:
        assert time.monotonic() < deadline, pids
        pids.add((await asyncio.to_thread(worker_sockets, workers_server))[0])
    victim = min(pids)
    os.kill(victim, signal.SIGKILL)
    # The supervisor starts a new worker: a third pid answers, the victim never.
    while True:
        assert time.monotonic() < deadline + 20, pids
        pid = (await asyncio.to_thread(worker_sockets, workers_server))[0]
        assert pid != victim
        if pid not in pids:
            break
    assert workers_server.process.poll() is None


async def test_sigterm_closes_every_workers_sockets_with_1012(
    workers_server, make_user, general
):
    sockets = []
    for index in range(8):
        user = await database_sync_to_async(make_user)(f"t{index}")
        await database_sync_to_async(services.room_join)(user=user, room=general)
        socket = await websocket_for(workers_server, await session_cookie(user))
        await subscribe_over(socket, "general")
        sockets.append(socket)
    by_worker = await sockets_by_worker(workers_server, len(sockets))
    assert len(by_worker) == 2
    workers_server.process.send_signal(signal.SIGTERM)
    for socket in sockets:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(socket.recv(), 10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
    assert await asyncio.to_thread(workers_server.process.wait, 35) == 0


async def test_each_worker_serves_its_own_metrics_on_a_private_port(
    workers_server, metrics_base, make_user, general
):
    sockets = []
    for index in range(6):
        user = await database_sync_to_async(make_user)(f"p{index}")
        await database_sync_to_async(services.room_join)(user=user, room=general)
        sockets.append(await websocket_for(workers_server, await session_cookie(user)))
    by_worker = await sockets_by_worker(workers_server, len(sockets))

    def private(port):
        base = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:
            pid = json.loads(response.read())["pid"]
        with urllib.request.urlopen(f"{base}/metrics", timeout=5) as response:
            return pid, parse(response.read().decode())["chat_open_sockets"]

    answers = dict(
        [await asyncio.to_thread(private, metrics_base + i) for i in range(2)]
    )
    assert answers == by_worker  # one port per worker, each its own numbers
    for socket_ in sockets:
        await socket_.close()
