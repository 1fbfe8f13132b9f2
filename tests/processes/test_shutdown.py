"""SIGTERM closes every socket with 1012 and leaves nothing behind in Redis."""

import asyncio
import json

import pytest
import websockets

from tests.servers import ChatServer
from tests.sockets import session_cookie

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def server(redis_url, transactional_db):
    server = ChatServer().start()
    yield server
    server.stop()


async def test_sigterm_closes_sockets_with_1012_and_cleans_up(server, ana, general):
    from tests.layer import group_subscribers

    cookie = await session_cookie(ana)
    socket = await websockets.connect(
        server.ws_url,
        origin=server.origin,
        additional_headers={"Cookie": f"sessionid={cookie}"},
    )
    assert json.loads(await socket.recv())["type"] == "hello"
    await socket.send(json.dumps({"type": "subscribe", "room": "general"}))
    while json.loads(await asyncio.wait_for(socket.recv(), 5))["type"] != "presence":
        pass
    assert await group_subscribers(general.group_name) == 1
    server.process.terminate()
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(socket.recv(), 10)
    assert closed.value.rcvd.code == 1012
    assert server.process.wait(timeout=10) == 0  # it ended by itself, cleanly
    assert await group_subscribers(general.group_name) == 0
    assert await group_subscribers(f"user.{ana.pk}") == 0
