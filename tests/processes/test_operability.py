"""Real Daphne processes: /metrics counts per process, and the logs a production
server writes are all JSON lines, Daphne's access log included."""

import asyncio
import json
import urllib.request

import pytest
import websockets

from tests.prometheus import increase, parse
from tests.servers import ChatServer, next_frame, subscribe_over, websocket_for
from tests.sockets import session_cookie

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read().decode()


async def scrape(server: ChatServer) -> dict[str, float]:
    status, text = await asyncio.to_thread(get, f"{server.http_url}/metrics")
    assert status == 200
    return parse(text)


async def pong(socket) -> None:
    """Answered after everything the consumer was handling before: an event to
    await before scraping, instead of a sleep."""
    await socket.send(json.dumps({"type": "ping"}))
    await next_frame(socket, "pong")


async def test_each_server_counts_what_it_stored_and_delivered(
    two_servers, ana, bob, general
):
    first, second = two_servers
    ana_socket = await websocket_for(first, await session_cookie(ana))
    bob_socket = await websocket_for(second, await session_cookie(bob))
    for socket in (ana_socket, bob_socket):
        await subscribe_over(socket, "general")
    before = [await scrape(first), await scrape(second)]
    await ana_socket.send(
        json.dumps(
            {"type": "message.send", "room": "general", "body": "x", "client_id": "o"}
        )
    )
    await next_frame(ana_socket, "message.new")
    await next_frame(bob_socket, "message.new")
    await pong(ana_socket)
    await pong(bob_socket)
    after = [await scrape(first), await scrape(second)]

    def growth(series: str) -> list[float]:
        return [increase(b, a, series) for b, a in zip(before, after, strict=True)]

    assert growth("chat_messages_stored_total") == [1, 0]  # where it was sent
    # ana's acknowledgement on one, bob's copy on the other...
    assert growth('chat_messages_delivered_total{kind="live"}') == [1, 1]
    # ...each timed from the sent_at the first server stamped on the event.
    assert growth("chat_broadcast_latency_seconds_count") == [1, 1]
    for metrics in after:
        assert metrics["chat_open_sockets"] == 1
        assert metrics["process_resident_memory_bytes"] > 0
    await ana_socket.close()
    await bob_socket.close()


async def test_a_production_log_format_server_writes_only_json_lines(
    transactional_db,
):
    server = ChatServer(extra_env={"LOG_FORMAT": "json"})
    start = server.log_path.stat().st_size if server.log_path.exists() else 0
    server.start()
    try:
        status, _ = await asyncio.to_thread(get, f"{server.http_url}/healthz")
        assert status == 200
        # A socket without a session: refused, with its reason logged.
        async with websockets.connect(server.ws_url, origin=server.origin) as socket:
            error = json.loads(await asyncio.wait_for(socket.recv(), 5))
            assert error["code"] == "unauthenticated"
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(socket.recv(), 5)
    finally:
        server.stop()
    with open(server.log_path, encoding="utf-8") as log:
        log.seek(start)
        lines = [line for line in log.read().splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert any(
        entry["logger"] == "daphne.server" and "Listening" in entry["message"]
        for entry in entries
    )
    assert any(
        entry["logger"] == "daphne.access"
        and entry["request"] == "GET /healthz"
        and entry["status_code"] == 200
        for entry in entries
    )
    assert any(
        entry["logger"] == "chat.consumers" and entry.get("reason") == "unauthenticated"
        for entry in entries
    )
    # One access line per handshake: its outcome, not its start as well.
    socket_lines = [
        entry["request"]
        for entry in entries
        if entry["logger"] == "daphne.access" and entry["request"].startswith("WS")
    ]
    assert socket_lines and all(
        not request.startswith("WSCONNECTING") for request in socket_lines
    )
    assert any(request.startswith("WSCONNECT /ws/chat/") for request in socket_lines)
    assert any(
        entry["logger"] == "chatsite.server_adapter"
        and entry["message"].startswith("shutting down")
        for entry in entries
    )
