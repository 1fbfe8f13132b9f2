"""The per-process catch-up check (chat.delivery.hub): a socket left behind its room
by a lost broadcast that no later event revealed is brought up to date from the
database, and a socket whose broadcast is merely on its way is left alone."""

import json

import pytest
from channels.db import database_sync_to_async

from chat import services
from chat.delivery.hub import hub
from tests.layer import message_create_without_broadcast
from tests.sockets import frames_before_later_message, open_chat, receive, subscribe

pytestmark = pytest.mark.django_db(transaction=True)


async def frames_before_a_later_event_in_the_inbox(socket, user) -> list[dict]:
    """Every frame before a notice put now in the user's only socket's inbox, the
    way the check asks a socket to catch up: anything the check asked earlier comes
    first (one inbox, one order; a pong would prove nothing)."""
    (delivery,) = hub().users[user.pk]
    delivery.enqueue(
        {
            "type": "chat.notify",
            "user_id": user.pk,
            "frame": json.dumps({"type": "notice"}),
        }
    )
    frames = []
    while (frame := await receive(socket))["type"] != "notice":
        frames.append(frame)
    return frames


async def test_a_lost_last_broadcast_is_delivered_at_the_second_check(
    ana, bob, general
):
    socket = await open_chat(bob)
    await subscribe(socket, "general")
    lost = await database_sync_to_async(message_create_without_broadcast)(general, ana)
    # The first check only notes the room's newest id: it may still be in flight.
    await hub().catch_up_lagging_sockets()
    assert await frames_before_a_later_event_in_the_inbox(socket, bob) == []
    await hub().catch_up_lagging_sockets()
    frame = await receive(socket)
    assert frame["type"] == "message.new"
    assert (frame["message"]["id"], frame["replay"]) == (lost.pk, False)
    # Up to date now: later checks send nothing more.
    await hub().catch_up_lagging_sockets()
    assert await frames_before_later_message(general, ana, socket) == [[]]
    await socket.disconnect()


async def test_a_delivered_message_is_never_sent_again_by_the_check(ana, bob, general):
    socket = await open_chat(bob)
    await subscribe(socket, "general")
    message, _ = await database_sync_to_async(services.message_create)(
        room=general, author=ana, body="live", client_id="live"
    )
    assert (await receive(socket))["message"]["id"] == message.pk
    await hub().catch_up_lagging_sockets()
    await hub().catch_up_lagging_sockets()
    assert await frames_before_later_message(general, ana, socket) == [[]]
    await socket.disconnect()
