"""One socket's delivery (chat.delivery.sockets) driven by hand, as its consumer's
task would: what waits in the inbox, what an inbox past its limit drops, and that a
dropped message still arrives, from the database, in order."""

import json

import pytest
from channels.db import database_sync_to_async

from chat import events, metrics, protocol
from chat.delivery.frames import Wire
from chat.delivery.sockets import SocketDelivery
from tests.layer import message_create_without_broadcast

pytestmark = pytest.mark.django_db(transaction=True)


class RecordingWriter:
    def __init__(self):
        self.texts: list[str] = []

    def write(self, wire) -> None:
        self.texts.append(wire.text)

    def message_ids(self) -> list[int]:
        return [json.loads(text)["message"]["id"] for text in self.texts]


def created_event(message, prev_id: int) -> dict:
    return events.message_created_event(
        room_id=message.room_id,
        message_id=message.pk,
        prev_id=prev_id,
        message_object=protocol.message_object(message, room_slug="general"),
    )


@database_sync_to_async
def stored_events(room, author, count: int) -> list[dict]:
    """`count` messages stored (never broadcast) and the events that announce them."""
    found, prev_id = [], room.last_message_id or 0
    for index in range(count):
        message = message_create_without_broadcast(room, author, client_id=f"c{index}")
        found.append(created_event(message, prev_id))
        prev_id = message.pk
    return found


def _wire(event: dict) -> Wire:
    return Wire(event["frame"])


async def handle_inbox(delivery: SocketDelivery) -> None:
    while not delivery.inbox.empty():
        await delivery.handle(delivery.inbox.get_nowait())
        delivery.handled()


async def subscribed_delivery(room) -> tuple[SocketDelivery, RecordingWriter]:
    writer = RecordingWriter()
    delivery = SocketDelivery(name="socket.test", writer=writer)
    await delivery.start(room, last_id=room.last_message_id or 0, since=None)
    return delivery, writer


async def test_the_next_message_of_an_idle_socket_is_written_at_once(ana, general):
    delivery, writer = await subscribed_delivery(general)
    (event,) = await stored_events(general, ana, 1)
    delivery.offer(event, _wire(event))
    assert writer.message_ids() == [event["id"]] and delivery.queued == 0


async def test_events_offered_while_history_is_written_wait_in_order(ana, general):
    delivery, writer = await subscribed_delivery(general)
    first, second = await stored_events(general, ana, 2)
    with delivery.holding():
        delivery.offer(first, _wire(first))
        assert writer.texts == [] and delivery.queued == 1
    # Released, but one event still waits: the next queues behind it.
    delivery.offer(second, _wire(second))
    assert writer.texts == [] and delivery.queued == 2
    await handle_inbox(delivery)
    assert writer.message_ids() == [first["id"], second["id"]]


async def test_a_gap_is_filled_from_the_database_before_the_message_after_it(
    ana, general
):
    delivery, writer = await subscribed_delivery(general)
    lost, later = await stored_events(general, ana, 2)
    delivery.offer(later, _wire(later))  # `lost` never reached this process
    assert writer.texts == [] and delivery.queued == 1
    await handle_inbox(delivery)
    assert writer.message_ids() == [lost["id"], later["id"]]


async def test_an_inbox_past_its_limit_drops_messages_that_then_come_from_history(
    ana, general, settings
):
    settings.CHAT_SOCKET_INBOX_LIMIT = 2
    delivery, writer = await subscribed_delivery(general)
    stored = await stored_events(general, ana, 7)
    overflows = metrics.inbox_overflows.value
    with delivery.holding():  # as while the socket writes a long replay
        for event in stored[:6]:
            delivery.offer(event, _wire(event))
    assert delivery.queued == 2
    assert metrics.inbox_overflows.value == overflows + 4
    await handle_inbox(delivery)
    assert writer.message_ids() == [event["id"] for event in stored[:2]]
    # The next message shows the gap; the socket reads it from the database.
    delivery.offer(stored[6], _wire(stored[6]))
    await handle_inbox(delivery)
    assert writer.message_ids() == [event["id"] for event in stored]


async def test_the_end_of_the_socket_is_never_dropped(settings):
    settings.CHAT_SOCKET_INBOX_LIMIT = 1
    delivery = SocketDelivery(name="socket.test", writer=RecordingWriter())
    delivery.enqueue({"type": "chat.notify", "user_id": 1, "frame": "{}"})
    delivery.enqueue({"type": "chat.credentials.ended", "code": "unauthenticated"})
    assert delivery.queued == 2


async def test_the_inbox_hands_out_events_in_order_to_a_task_that_waits():
    import asyncio

    from chat.delivery.sockets import Inbox

    inbox = Inbox()
    getting = asyncio.ensure_future(inbox.get())
    await asyncio.sleep(0)  # the task waits on an empty inbox
    assert not getting.done()
    inbox.put_nowait({"n": 1})
    inbox.put_nowait({"n": 2})
    assert await getting == {"n": 1}
    assert await inbox.get() == {"n": 2}
    assert inbox.empty() and inbox.waiter is None


async def test_an_inbox_get_cancelled_after_the_wake_up_loses_nothing():
    import asyncio

    from chat.delivery.sockets import Inbox

    inbox = Inbox()
    getting = asyncio.ensure_future(inbox.get())
    await asyncio.sleep(0)
    inbox.put_nowait({"n": 1})  # wakes the waiter...
    getting.cancel()  # ...which is cancelled before it runs (a socket ending)
    with pytest.raises(asyncio.CancelledError):
        await getting
    assert inbox.get_nowait() == {"n": 1}  # still there for whoever reads next
