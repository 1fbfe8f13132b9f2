"""The delivery engine (chat.delivery) as the sockets see it: one layer subscription
per room and user per process, the hub's direct path taken in these tests as in
production, and a failing socket that does not stop the others."""

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from chat import events, metrics, selectors, services
from chat.delivery import joining
from chat.delivery.hub import hub
from chat.models import Room
from tests.layer import group_members
from tests.sockets import (
    frames_before_later_message,
    open_chat,
    receive,
    send,
    subscribe,
)

pytestmark = pytest.mark.django_db(transaction=True)

post = database_sync_to_async(services.message_create)


async def test_a_process_joins_a_room_once_whatever_its_number_of_sockets(
    ana, bob, general
):
    sockets = [await open_chat(ana), await open_chat(ana), await open_chat(bob)]
    for socket in sockets:
        await subscribe(socket, "general")
    channel = hub().channel
    assert await group_members(general.group_name) == {channel}
    assert await group_members(f"user.{ana.pk}") == {channel}
    assert len(hub().rooms[general.pk]) == 3
    for socket in sockets[:2]:
        await socket.disconnect()
    # bob's socket still holds the room: the process stays in its group.
    assert await group_members(general.group_name) == {channel}
    assert await group_members(f"user.{ana.pk}") == set()
    await sockets[2].disconnect()
    assert await group_members(general.group_name) == set()
    assert hub().rooms == {} and hub().users == {}


async def test_an_idle_in_order_socket_is_written_to_by_the_hub_itself(
    ana, bob, general
):
    """What production runs: the hub writes the next message of a room to a socket
    that is up to date, without waking its consumer. If these tests delivered
    through the consumer's task instead, this would fail."""
    socket = await open_chat(bob)
    await subscribe(socket, "general")
    before = metrics.direct_fanout.value
    message, _ = await post(room=general, author=ana, body="hi", client_id="c1")
    frame = await receive(socket)
    assert frame["message"]["id"] == message.pk
    assert metrics.direct_fanout.value == before + 1
    (delivery,) = hub().users[bob.pk]
    assert delivery.queued == 0  # nothing went through the inbox
    await socket.disconnect()


async def test_a_socket_that_fails_is_closed_and_the_others_still_get_the_event(
    ana, bob, carol, general
):
    await database_sync_to_async(services.room_join)(user=carol, room=general)
    failing, healthy = await open_chat(bob), await open_chat(carol)
    for socket in (failing, healthy):
        await subscribe(socket, "general")
    (delivery,) = hub().users[bob.pk]

    def broken_take_now(event, wire):
        raise RuntimeError("a bug in one socket's delivery")

    # Every socket of the room is offered the event; the one offered first must not
    # keep the other from it, whichever it is.
    delivery.take_now = broken_take_now
    failures = metrics.delivery_failures.value
    message, _ = await post(room=general, author=ana, body="hi", client_id="c1")
    assert (await receive(healthy))["message"]["id"] == message.pk
    assert await failing.receive_output(timeout=3) == {
        "type": "websocket.close",
        "code": 1011,
    }
    assert metrics.delivery_failures.value == failures + 1
    await failing.disconnect()
    await healthy.disconnect()


@pytest.mark.parametrize("read", ["the usual two reads", "one read after a hint"])
async def test_a_message_committed_while_a_socket_subscribes_arrives_after_subscribed(
    ana, bob, carol, general, monkeypatch, read, settings
):
    """The room's events that reach the process between the socket joining the room
    and its `subscribed` wait for it, and are then delivered, not dropped because
    the subscription did not exist yet when they came. Both ways of reading the
    room after joining it (chat.delivery.joining) are taken."""
    hinted = read == "one read after a hint"
    if hinted and settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        pytest.skip("the one-read path is PostgreSQL's")
    await database_sync_to_async(services.room_join)(user=carol, room=general)
    watcher = await open_chat(carol)
    await subscribe(watcher, "general")  # the process now knows general's id
    if not hinted:
        # As for a room the process has no id for (SQLite always reads this way).
        monkeypatch.setattr(joining, "_room_ids", {})

        async def no_id(**kwargs):
            return None

        monkeypatch.setattr(selectors, "room_id_async", no_id)
    name = "room_for_subscriber_async" if hinted else "room_unread_counts_async"
    read_after_joining = getattr(selectors, name)
    committed = []

    async def read_then_a_message(**kwargs):
        found = await read_after_joining(**kwargs)
        message, _ = await post(room=general, author=ana, body="hi", client_id="c1")
        committed.append(message)
        # Once the watcher has it, the hub has offered it to every local socket.
        assert (await receive(watcher))["message"]["id"] == message.pk
        return found

    monkeypatch.setattr(selectors, name, read_then_a_message)
    socket = await open_chat(bob)
    _, subscribed = await subscribe(socket, "general")
    (message,) = committed
    assert subscribed["last_id"] < message.pk
    assert (await receive(socket))["message"]["id"] == message.pk
    assert await frames_before_later_message(general, ana, socket) == [[]]
    for each in (socket, watcher):
        await each.disconnect()


async def test_a_slug_that_now_names_another_room_subscribes_that_room(
    ana, bob, general
):
    """The process remembers room ids by slug (chat.delivery.joining): a room
    renamed since, and a new room under the old slug, are told apart."""
    first = await open_chat(bob)
    await subscribe(first, "general")
    await first.disconnect()

    def rename_and_replace():
        Room.objects.filter(pk=general.pk).update(slug="old-general")
        room = services.room_create(owner=ana, slug="general", name="New")
        services.room_join(user=bob, room=room)
        return room

    new_general = await database_sync_to_async(rename_and_replace)()
    socket = await open_chat(bob)
    _, subscribed = await subscribe(socket, "general")
    assert subscribed["last_id"] == 0
    assert set(hub().rooms) == {new_general.pk}
    assert await group_members(general.group_name) == set()
    message, _ = await post(room=new_general, author=ana, body="new", client_id="n1")
    assert (await receive(socket))["message"]["id"] == message.pk
    await socket.disconnect()


async def test_sockets_that_subscribe_together_share_one_lookup_of_the_room(
    ana, bob, general, monkeypatch, postgres
):
    monkeypatch.setattr(joining, "_room_ids", {})
    lookups = []
    look_up = selectors.room_id_async

    async def counted(**kwargs):
        lookups.append(kwargs)
        return await look_up(**kwargs)

    monkeypatch.setattr(selectors, "room_id_async", counted)
    sockets = [await open_chat(user) for user in (ana, bob, ana)]
    for socket in sockets:
        await send(socket, {"type": "subscribe", "room": "general"})
    for socket in sockets:
        assert (await receive(socket))["type"] == "subscribed"
    assert lookups == [{"slug": "general"}]
    for socket in sockets:
        await socket.disconnect()


async def test_a_remembered_room_still_refuses_a_non_member(ana, bob, carol, hideout):
    socket = await open_chat(ana)
    await subscribe(socket, "hideout")
    intruder = await open_chat(carol)
    await send(intruder, {"type": "subscribe", "room": "hideout"})
    assert (await receive(intruder))["code"] == "room_not_found"
    assert set(hub().rooms) == {hideout.pk}
    assert len(hub().rooms[hideout.pk]) == 1  # ana's socket only
    for each in (socket, intruder):
        await each.disconnect()


async def test_a_malformed_event_does_not_stop_the_process_delivering(ana, bob):
    """An event without the user it is for (as from a server of an older version
    during a rolling deploy) is logged; the next one is delivered."""
    socket = await open_chat(bob)
    layer = get_channel_layer()
    await layer.group_send(f"user.{bob.pk}", {"type": "chat.notify", "frame": "{}"})
    await database_sync_to_async(events.user_notified)(user_id=bob.pk, data={"k": 1})
    assert await receive(socket) == {"type": "notify", "data": {"k": 1}}
    await socket.disconnect()
