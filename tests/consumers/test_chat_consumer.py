"""The chat socket through the full ASGI stack: handshake, rooms, sending, errors.

Runs on whichever channel layer the settings choose (the in-memory one, or Redis
when REDIS_URL is set, as in CI): never a mocked one.
"""

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from chat import services
from chat.models import Message
from chatsite.asgi import application
from tests.layer import group_members, message_create_without_broadcast
from tests.sockets import (
    frames_before_later_message,
    frames_until_pong,
    open_chat,
    open_socket,
    receive,
    send,
    subscribe,
)

pytestmark = pytest.mark.django_db(transaction=True)

post = database_sync_to_async(services.message_create)


async def test_hello_names_the_user_and_heartbeat(ana):
    socket = await open_socket(ana)
    hello = await receive(socket)
    assert hello == {
        "type": "hello",
        "user": {"id": ana.pk, "username": "ana"},
        "heartbeat": 25,
    }
    await socket.disconnect()


async def test_anonymous_socket_gets_unauthenticated_and_close_4401():
    socket = await open_socket(None)
    error = await receive(socket)
    assert error["type"] == "error"
    assert error["code"] == "unauthenticated"
    assert error["ref"] is None
    assert isinstance(error["detail"], str) and error["detail"]
    assert (await socket.receive_output(timeout=1)) == {
        "type": "websocket.close",
        "code": 4401,
    }
    await socket.disconnect()  # the server's close, answered: the consumer ends


async def test_inactive_account_is_unauthenticated(make_user):
    user = await database_sync_to_async(make_user)("dormant")
    cookie_user = user
    user.is_active = False
    await database_sync_to_async(user.save)()
    socket = await open_socket(cookie_user)
    error = await receive(socket)
    assert error["code"] == "unauthenticated"
    assert (await socket.receive_output(timeout=1))["code"] == 4401
    await socket.disconnect()


@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.example",
        None,
        # The site's host on another port or scheme is another origin.
        "http://127.0.0.1:9999",
        "https://127.0.0.1",
        "null",
    ],
)
async def test_foreign_or_missing_origin_is_refused_before_the_consumer(
    ana, origin, monkeypatch
):
    from chat.consumers import ChatConsumer

    reached = []
    monkeypatch.setattr(ChatConsumer, "connect", lambda self: reached.append(self))
    headers = [(b"host", b"127.0.0.1")]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    socket = WebsocketCommunicator(application, "/ws/chat/", headers=headers)
    connected, _ = await socket.connect()
    # Closing before accept is what Daphne answers as HTTP 403 (checked against a
    # real Daphne in tests/processes).
    assert connected is False
    assert reached == []


async def test_ping_gets_pong(ana):
    socket = await open_chat(ana)
    await send(socket, {"type": "ping"})
    assert await receive(socket) == {"type": "pong"}
    await socket.disconnect()


async def test_subscribe_reports_last_id_and_no_replay_without_since(ana, bob, general):
    first, _ = await post(room=general, author=ana, body="one", client_id="c1")
    socket = await open_chat(bob)
    replayed, subscribed = await subscribe(socket, "general")
    assert replayed == []
    assert subscribed == {
        "type": "subscribed",
        "room": "general",
        "last_id": first.pk,
        "more": False,
        "unread_count": 1,
        "mention_count": 0,
        "last_read_id": 0,
    }
    await socket.disconnect()


async def test_subscribe_to_empty_room_reports_last_id_zero(ana, general):
    socket = await open_chat(ana)
    _, subscribed = await subscribe(socket, "general", since=0)
    assert subscribed["last_id"] == 0
    await socket.disconnect()


async def test_resubscribe_since_replays_missed_messages_in_order(ana, bob, general):
    sent = [
        (await post(room=general, author=ana, body=f"m{i}", client_id=f"c{i}"))[0]
        for i in range(5)
    ]
    socket = await open_chat(bob)
    replayed, subscribed = await subscribe(socket, "general", since=sent[1].pk)
    assert [frame["message"]["id"] for frame in replayed] == [m.pk for m in sent[2:]]
    assert all(frame["replay"] is True for frame in replayed)
    assert [frame["message"]["body"] for frame in replayed] == ["m2", "m3", "m4"]
    assert subscribed["more"] is False
    # Subscribing again is allowed and replays again.
    replayed_again, _ = await subscribe(socket, "general", since=sent[3].pk)
    assert [frame["message"]["id"] for frame in replayed_again] == [sent[4].pk]
    await socket.disconnect()


async def test_replay_is_capped_and_says_more(ana, bob, general, settings):
    settings.CHAT_REPLAY_LIMIT = 3
    ids = [
        (await post(room=general, author=ana, body=f"m{i}", client_id=f"c{i}"))[0].pk
        for i in range(5)
    ]
    socket = await open_chat(bob)
    replayed, subscribed = await subscribe(socket, "general", since=0)
    assert [frame["message"]["id"] for frame in replayed] == ids[:3]
    assert subscribed["more"] is True
    assert subscribed["last_id"] == ids[-1]
    await socket.disconnect()


async def test_message_send_is_broadcast_to_every_subscriber_sender_included(
    ana, bob, general
):
    ana_socket, bob_socket = await open_chat(ana), await open_chat(bob)
    await subscribe(ana_socket, "general")
    await subscribe(bob_socket, "general")
    await send(
        ana_socket,
        {
            "type": "message.send",
            "room": "general",
            "body": "  hello bob \n",
            "client_id": "k1",
        },
    )
    ack = await receive(ana_socket)
    live = await receive(bob_socket)
    assert ack == live
    assert ack["type"] == "message.new"
    assert ack["replay"] is False
    message = ack["message"]
    stored = await database_sync_to_async(Message.objects.get)(pk=message["id"])
    assert message == {
        "id": stored.pk,
        "room": "general",
        "author": {"id": ana.pk, "username": "ana"},
        "body": "hello bob",
        "created_at": message["created_at"],
        "edited_at": None,
        "client_id": "k1",
        "attachments": [],
        "reactions": [],
        "mentions": [],
    }
    assert message["created_at"].endswith("Z")
    assert stored.body == "hello bob"
    await ana_socket.disconnect()
    await bob_socket.disconnect()


async def test_resent_client_id_creates_nothing_and_acknowledges_again(
    ana, bob, general
):
    ana_socket, bob_socket = await open_chat(ana), await open_chat(bob)
    await subscribe(ana_socket, "general")
    await subscribe(bob_socket, "general")
    frame = {
        "type": "message.send",
        "room": "general",
        "body": "once",
        "client_id": "same",
    }
    await send(ana_socket, frame)
    first = await receive(ana_socket)
    await send(ana_socket, {**frame, "body": "changed on resend"})
    second = await receive(ana_socket)
    assert second == first
    assert (
        await database_sync_to_async(Message.objects.filter(client_id="same").count)()
        == 1
    )
    # Bob heard it once: the resend is answered to the sender only.
    assert (await receive(bob_socket))["message"]["id"] == first["message"]["id"]
    assert await frames_before_later_message(general, ana, bob_socket) == [[]]
    await ana_socket.disconnect()
    await bob_socket.disconnect()


async def test_live_messages_after_since_replay_arrive_once_in_order(ana, bob, general):
    """Messages posted while a subscribe replays arrive after it, never twice."""
    for i in range(20):
        await post(room=general, author=ana, body=f"old{i}", client_id=f"old{i}")
    socket = await open_chat(bob)
    writer = asyncio.ensure_future(
        asyncio.gather(
            *[
                post(room=general, author=ana, body=f"new{i}", client_id=f"new{i}")
                for i in range(20)
            ]
        )
    )
    await send(socket, {"type": "subscribe", "room": "general", "since": 0})
    await writer
    seen = []
    while len(seen) < 40:
        frame = await receive(socket)
        if frame["type"] == "message.new":
            seen.append(frame["message"]["id"])
    assert seen == sorted(seen)
    assert len(set(seen)) == 40
    assert await frames_before_later_message(general, ana, socket) == [[]]
    await socket.disconnect()


async def test_gap_in_live_stream_is_filled_from_the_database(ana, bob, general):
    """A broadcast that never arrived is recovered when the next one shows the gap."""
    socket = await open_chat(bob)
    await subscribe(socket, "general")
    # Write one message without its broadcast, as if the channel layer had dropped it.
    lost = await database_sync_to_async(message_create_without_broadcast)(general, ana)
    after, _ = await post(room=general, author=ana, body="after", client_id="after")
    first, second = await receive(socket), await receive(socket)
    assert [first["message"]["id"], second["message"]["id"]] == [lost.pk, after.pk]
    assert first["replay"] is False
    await socket.disconnect()


async def test_unsubscribe_stops_the_room_events(ana, bob, general):
    socket = await open_chat(bob)
    await subscribe(socket, "general")
    await send(socket, {"type": "unsubscribe", "room": "general"})
    assert await frames_until_pong(socket) == []  # the unsubscribe has been handled
    await post(room=general, author=ana, body="unheard", client_id="u1")
    await send(
        socket,
        {"type": "message.send", "room": "general", "body": "x", "client_id": "x"},
    )
    assert (await receive(socket))["code"] == "not_subscribed"
    # Had "unheard" been sent to the socket, it would come before what the room
    # sends after a new subscription (one room, one order).
    replayed, _ = await subscribe(socket, "general")
    assert replayed == []
    assert await frames_before_later_message(general, ana, socket) == [[]]
    await socket.disconnect()


async def test_typing_reaches_the_other_subscribers_only(ana, bob, general):
    ana_socket, bob_socket = await open_chat(ana), await open_chat(bob)
    await subscribe(ana_socket, "general")
    await subscribe(bob_socket, "general")
    await send(ana_socket, {"type": "typing", "room": "general"})
    assert await receive(bob_socket) == {
        "type": "typing",
        "room": "general",
        "user": {"id": ana.pk, "username": "ana"},
    }
    # No echo of ana's own typing, which would come before a later room event.
    assert await frames_before_later_message(general, bob, ana_socket) == [[]]
    await ana_socket.disconnect()
    await bob_socket.disconnect()


async def test_read_marker_moves_forward_only_and_never_past_the_room(
    ana, bob, general
):
    from chat.models import Membership

    message, _ = await post(room=general, author=ana, body="hi", client_id="r1")
    socket = await open_chat(bob)
    await subscribe(socket, "general")
    marker = database_sync_to_async(
        lambda: Membership.objects.get(user=bob, room=general).last_read_id
    )
    await send(socket, {"type": "read", "room": "general", "last_id": 10**12})
    # No answer of its own: only the user's `unread` badge update, which may come
    # before or after the pong depending on the layer.
    no_answer = ("presence", "unread")
    assert await frames_until_pong(socket, skip=no_answer) == []
    assert await marker() == message.pk
    await send(socket, {"type": "read", "room": "general", "last_id": 0})
    await frames_until_pong(socket)
    assert await marker() == message.pk
    await socket.disconnect()


async def test_leaving_a_room_sends_room_removed_and_stops_events(ana, bob, general):
    socket = await open_chat(bob)
    await subscribe(socket, "general")
    await database_sync_to_async(services.room_leave)(user=bob, room=general)
    assert await receive(socket) == {
        "type": "room.removed",
        "room": "general",
        "reason": "left",
    }
    await post(room=general, author=ana, body="after leaving", client_id="l1")
    # Had "after leaving" been sent to the socket, it would come before what the
    # room sends once bob is back (one room, one order).
    await database_sync_to_async(services.room_join)(user=bob, room=general)
    assert (await receive(socket))["type"] == "room.added"
    replayed, _ = await subscribe(socket, "general")
    assert replayed == []
    assert await frames_before_later_message(general, ana, socket) == [[]]
    await socket.disconnect()


async def test_deleted_and_edited_messages_are_broadcast(ana, bob, general):
    socket = await open_chat(bob)
    await subscribe(socket, "general")
    message, _ = await post(room=general, author=ana, body="typo", client_id="e1")
    await receive(socket)
    await database_sync_to_async(services.message_edit)(
        message=message, editor=ana, body="fixed"
    )
    edited = await receive(socket)
    assert edited["type"] == "message.edited"
    assert edited["message"]["body"] == "fixed"
    assert edited["message"]["edited_at"] is not None
    await database_sync_to_async(services.message_delete)(message=message, actor=ana)
    assert await receive(socket) == {
        "type": "message.deleted",
        "room": "general",
        "id": message.pk,
    }
    await socket.disconnect()


async def test_notify_reaches_every_socket_of_the_user(bob):
    from chat import events

    first, second = await open_chat(bob), await open_chat(bob)
    await database_sync_to_async(events.user_notified)(user_id=bob.pk, data={"k": 1})
    for socket in (first, second):
        assert await receive(socket) == {"type": "notify", "data": {"k": 1}}
        await socket.disconnect()


async def test_disconnect_leaves_no_group_membership(ana, general):
    socket = await open_chat(ana)
    await subscribe(socket, "general")
    groups = [general.group_name, f"user.{ana.pk}"]
    for group in groups:
        assert len(await group_members(group)) == 1
    await socket.disconnect()
    for group in groups:
        assert await group_members(group) == set()


async def test_sender_is_acknowledged_when_the_layer_refuses_the_broadcast(
    ana, bob, general, monkeypatch
):
    """The message is committed either way; with no broadcast, the sender's consumer
    acknowledges it directly and other sockets recover it from the database."""
    from chat import events

    ana_socket, bob_socket = await open_chat(ana), await open_chat(bob)
    await subscribe(ana_socket, "general")
    await subscribe(bob_socket, "general")
    real_group_send = events._group_send

    def failing_group_send(group, event):
        if event["type"] == "chat.message.created":
            raise ConnectionError("layer down")
        real_group_send(group, event)

    monkeypatch.setattr(events, "_group_send", failing_group_send)
    frame = {"type": "message.send", "room": "general", "body": "x", "client_id": "f"}
    await send(ana_socket, frame)
    ack = await receive(ana_socket)
    assert ack["type"] == "message.new"
    assert ack["message"]["client_id"] == "f"
    monkeypatch.setattr(events, "_group_send", real_group_send)
    # The next broadcast reveals the gap to bob, who gets both, in order, once.
    await send(ana_socket, {**frame, "client_id": "g"})
    assert (await receive(ana_socket))["message"]["client_id"] == "g"
    first, second = await receive(bob_socket), await receive(bob_socket)
    assert [first["message"]["client_id"], second["message"]["client_id"]] == ["f", "g"]
    assert await frames_before_later_message(general, bob, ana_socket, bob_socket) == [
        [],
        [],
    ]
    await ana_socket.disconnect()
    await bob_socket.disconnect()


async def test_refused_sockets_leave_the_open_socket_count_alone(make_user):
    from chat import metrics

    before = metrics.open_sockets.value
    dormant = await database_sync_to_async(make_user)("sleeper", is_active=False)
    for user in (None, dormant):
        socket = await open_socket(user)
        assert (await receive(socket))["code"] == "unauthenticated"
        await socket.receive_output(timeout=1)
        await socket.disconnect()
    assert metrics.open_sockets.value == before
