"""Broadcasts after commit: what the event carries for metrics, and what a refused
broadcast leaves behind (a count and a structured log line)."""

import logging
import time

import pytest
from channels.layers import get_channel_layer

from chat import metrics, services
from tests.layer import listen, next_event

pytestmark = pytest.mark.django_db(transaction=True)


def test_new_message_event_carries_its_send_time_and_counts_as_stored(ana, general):
    channel = listen(general.group_name)
    stored_before = metrics.messages_stored.value
    started = time.time()
    message, created = services.message_create(
        room=general, author=ana, body="hi", client_id="t1"
    )
    event = next_event(channel)
    assert created and event["id"] == message.pk
    # A wall-clock float, taken when the event was handed to the layer.
    assert started <= event["sent_at"] <= time.time()
    assert metrics.messages_stored.value == stored_before + 1


def test_resent_client_id_is_not_counted_as_stored(ana, general):
    services.message_create(room=general, author=ana, body="hi", client_id="same")
    stored_before = metrics.messages_stored.value
    _, created = services.message_create(
        room=general, author=ana, body="hi", client_id="same"
    )
    assert created is False
    assert metrics.messages_stored.value == stored_before


def test_refused_broadcast_is_counted_and_logged_with_its_ids(
    ana, general, monkeypatch, caplog
):
    async def refuse(group, event):
        raise ConnectionError("layer down")

    # Fault injection on the real layer: only its group_send fails.
    monkeypatch.setattr(get_channel_layer(), "group_send", refuse)
    failures = metrics.broadcast_failures.labels("chat.message.created")
    before = failures.value
    with caplog.at_level(logging.ERROR, logger="chat.events"):
        message, _ = services.message_create(
            room=general, author=ana, body="hi", client_id="t2"
        )
    assert message.broadcast_event["sent"] is False
    assert failures.value == before + 1
    [record] = [r for r in caplog.records if r.name == "chat.events"]
    assert (record.message_id, record.room_id) == (message.pk, general.pk)
    assert record.exc_info[0] is ConnectionError
