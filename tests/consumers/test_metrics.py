"""/metrics counts what the sockets do: stored, delivered (live, replay, repair),
broadcast latency per recipient, gaps repaired and error frames by code.

Scraped through the full ASGI application, on whichever channel layer the settings
choose (never a mocked one). Counters are per process and only grow, so each test
compares two scrapes; before scraping, a ping answered on every socket proves the
consumers have finished handling what came before it.
"""

import pytest
from channels.db import database_sync_to_async

from chat import services
from tests.layer import message_create_without_broadcast
from tests.prometheus import increase, scrape, scrape_response
from tests.sockets import (
    frames_before_later_message,
    frames_until_pong,
    open_chat,
    receive,
    send,
    subscribe,
)

pytestmark = pytest.mark.django_db(transaction=True)

post = database_sync_to_async(services.message_create)

STORED = "chat_messages_stored_total"
LIVE = 'chat_messages_delivered_total{kind="live"}'
REPLAY = 'chat_messages_delivered_total{kind="replay"}'
REPAIR = 'chat_messages_delivered_total{kind="repair"}'
LATENCY_COUNT = "chat_broadcast_latency_seconds_count"
LATENCY_SUM = "chat_broadcast_latency_seconds_sum"
GAPS = "chat_layer_gaps_repaired_total"


async def test_a_message_to_two_sockets_counts_one_store_two_deliveries(
    ana, bob, general
):
    ana_socket, bob_socket = await open_chat(ana), await open_chat(bob)
    await subscribe(ana_socket, "general")
    await subscribe(bob_socket, "general")
    before = await scrape()
    await send(
        ana_socket,
        {"type": "message.send", "room": "general", "body": "hi", "client_id": "m1"},
    )
    assert (await receive(ana_socket))["type"] == "message.new"
    assert (await receive(bob_socket))["type"] == "message.new"
    for socket in (ana_socket, bob_socket):
        assert await frames_until_pong(socket) == []
    after = await scrape()
    assert increase(before, after, STORED) == 1
    assert increase(before, after, LIVE) == 2
    assert increase(before, after, REPAIR) == 0
    assert increase(before, after, LATENCY_COUNT) == 2
    # And nothing more was sent, which would come before a later room event.
    assert await frames_before_later_message(general, ana, ana_socket, bob_socket) == [
        [],
        [],
    ]
    assert (
        increase(before, after, 'chat_broadcast_latency_seconds_bucket{le="+Inf"}') == 2
    )
    # Two real, positive and plausible latencies: within the test, well under 10 s.
    assert 0 < increase(before, after, LATENCY_SUM) < 10
    assert increase(before, after, GAPS) == 0
    await ana_socket.disconnect()
    await bob_socket.disconnect()


async def test_error_frames_are_counted_by_code(ana):
    socket = await open_chat(ana)
    before = await scrape()
    await socket.send_to(text_data="not json")
    assert (await receive(socket))["code"] == "bad_json"
    await send(socket, {"type": "subscribe", "room": "nowhere"})
    assert (await receive(socket))["code"] == "room_not_found"
    await send(socket, {"type": "subscribe", "room": "nowhere"})
    assert (await receive(socket))["code"] == "room_not_found"
    after = await scrape()
    bad_json = 'chat_errors_total{transport="websocket",code="bad_json"}'
    not_found = 'chat_errors_total{transport="websocket",code="room_not_found"}'
    assert increase(before, after, bad_json) == 1
    assert increase(before, after, not_found) == 2
    await socket.disconnect()


async def test_refused_socket_counts_its_error_frame():
    from tests.sockets import open_socket

    before = await scrape()
    socket = await open_socket(None)
    assert (await receive(socket))["code"] == "unauthenticated"
    assert (await socket.receive_output(timeout=1))["code"] == 4401
    await socket.disconnect()
    after = await scrape()
    series = 'chat_errors_total{transport="websocket",code="unauthenticated"}'
    assert increase(before, after, series) == 1


async def test_a_gap_repaired_from_the_database_is_counted(ana, bob, general):
    socket = await open_chat(bob)
    await subscribe(socket, "general")
    before = await scrape()
    # One message without its broadcast, as if the layer had dropped it.
    lost = await database_sync_to_async(message_create_without_broadcast)(general, ana)
    after_lost, _ = await post(room=general, author=ana, body="next", client_id="n")
    ids = [(await receive(socket))["message"]["id"] for _ in range(2)]
    assert ids == [lost.pk, after_lost.pk]
    assert await frames_until_pong(socket) == []
    after = await scrape()
    assert increase(before, after, GAPS) == 1
    assert increase(before, after, REPAIR) == 1
    assert increase(before, after, LIVE) == 1
    assert increase(before, after, LATENCY_COUNT) == 1
    assert await frames_before_later_message(general, ana, socket) == [[]]
    await socket.disconnect()


async def test_replayed_messages_are_counted_as_replay(ana, bob, general):
    for index in range(3):
        await post(room=general, author=ana, body=f"m{index}", client_id=f"r{index}")
    socket = await open_chat(bob)
    before = await scrape()
    replayed, _ = await subscribe(socket, "general", since=0)
    assert len(replayed) == 3
    after = await scrape()
    assert increase(before, after, REPLAY) == 3
    assert increase(before, after, LIVE) == 0
    await socket.disconnect()


async def test_metrics_are_refused_outside_the_allowed_addresses():
    status, text = await scrape_response("203.0.113.9")
    assert status == 403
    assert "chat_" not in text
    status, text = await scrape_response("127.0.0.1")
    assert status == 200
    assert "# TYPE chat_broadcast_latency_seconds histogram" in text


async def test_a_forged_x_forwarded_for_does_not_open_metrics(settings):
    forged = [(b"x-forwarded-for", b"127.0.0.1")]
    for trusted in ([], ["10.0.0.1"]):
        settings.CHAT_TRUSTED_PROXIES = trusted
        status, _ = await scrape_response("203.0.113.9", headers=forged)
        assert status == 403, trusted


async def test_behind_a_trusted_proxy_metrics_go_by_the_client_not_the_proxy(settings):
    settings.CHAT_TRUSTED_PROXIES = ["127.0.0.1"]
    # A remote client prepends "127.0.0.1"; the proxy appends the address it saw.
    spoofed = [(b"x-forwarded-for", b"127.0.0.1, 198.51.100.7")]
    status, _ = await scrape_response("127.0.0.1", headers=spoofed)
    assert status == 403
    # A scraper on the proxy's host, through the proxy.
    local = [(b"x-forwarded-for", b"127.0.0.1")]
    assert (await scrape_response("127.0.0.1", headers=local))[0] == 200
