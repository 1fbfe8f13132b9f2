"""A client that stops reading is cut off without slowing anyone else down."""

import asyncio
import json
import time

import pytest
import websockets
from channels.db import database_sync_to_async

from chat import services
from tests.rawsocket import RawSocket
from tests.servers import ChatServer
from tests.sockets import session_cookie

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]

BODY = "x" * 4000
MESSAGES = 1500  # ~6.5 MB of frames: more than the kernel buffers of both ends


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.fixture
def server(redis_url, transactional_db):
    server = ChatServer().start()
    yield server
    server.stop()


async def test_a_client_that_stops_reading_is_aborted_and_others_get_everything(
    server, ana, bob, carol, general
):
    from tests.layer import presence_entries

    await database_sync_to_async(services.room_join)(user=carol, room=general)
    slow = RawSocket(server.port, await session_cookie(carol), receive_buffer=4096)
    slow.send_json({"type": "subscribe", "room": "general"})
    fast = await websockets.connect(
        server.ws_url,
        origin=server.origin,
        additional_headers={"Cookie": f"sessionid={await session_cookie(bob)}"},
        max_size=None,
    )
    await fast.send(json.dumps({"type": "subscribe", "room": "general"}))
    while json.loads(await fast.recv())["type"] != "subscribed":
        pass
    while await presence_entries(general.pk) < 2:
        # The raw client's subscribe has no awaitable answer here; a socket is in
        # presence once it is in the room's group.
        await asyncio.sleep(0.05)
    rss_before = rss_kib(server.process.pid)

    received = []

    async def read_fast():
        while len(received) < MESSAGES:
            frame = json.loads(await asyncio.wait_for(fast.recv(), 30))
            if frame["type"] == "message.new":
                received.append(frame["message"]["id"])

    reader = asyncio.ensure_future(read_fast())
    started = time.monotonic()
    sent = []
    for index in range(MESSAGES):
        message, _ = await database_sync_to_async(services.message_create)(
            room=general, author=ana, body=BODY, client_id=f"s{index}"
        )
        sent.append(message.pk)
    await reader
    elapsed = time.monotonic() - started

    assert received == sent  # the fast reader got everything, in order, once
    # The slow one was aborted: its socket has left the room on the server.
    assert await presence_entries(general.pk) == 1
    growth_mib = (rss_kib(server.process.pid) - rss_before) / 1024
    assert growth_mib < 40, f"server grew {growth_mib:.0f} MiB"
    print(
        f"{MESSAGES} messages in {elapsed:.1f}s, server RSS grew {growth_mib:.1f} MiB"
    )
    await fast.close()
