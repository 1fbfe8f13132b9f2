"""Mention events on the real channel layer: sent after commit only, one frame per
mentioned member on their user group, and never able to fail the message."""

import json

import pytest
from channels.layers import get_channel_layer
from django.db import transaction

from chat import protocol, services
from chat.events import user_group_name
from tests.layer import listen, next_event

pytestmark = pytest.mark.django_db(transaction=True)


def test_mention_is_sent_to_the_member_only_after_commit(ana, bob, general):
    listener = listen(user_group_name(bob.pk))

    class RolledBack(Exception):
        pass

    with pytest.raises(RolledBack), transaction.atomic():
        services.message_create(
            room=general, author=ana, body="@bob never", client_id="gone"
        )
        raise RolledBack()
    message, _ = services.message_create(
        room=general, author=ana, body="@bob hello", client_id="kept"
    )
    event = next_event(listener)
    # The first event bob's group sees is the committed message's, not the other.
    assert event["type"] == "chat.mention"
    assert json.loads(event["frame"]) == {
        "type": "mention",
        "room": "general",
        "room_name": "General",
        "message": protocol.message_object(message, room_slug="general"),
    }
    assert json.loads(event["frame"])["message"]["mentions"] == [
        {"id": bob.pk, "username": "bob"}
    ]


def test_a_refused_mention_broadcast_does_not_fail_the_message(
    ana, bob, general, monkeypatch
):
    layer = get_channel_layer()
    real_group_send = layer.group_send

    async def refuse_user_groups(group, event):
        if group.startswith("user."):
            raise ConnectionError("layer down")
        await real_group_send(group, event)

    monkeypatch.setattr(layer, "group_send", refuse_user_groups)
    message, created = services.message_create(
        room=general, author=ana, body="@bob hi", client_id="m1"
    )
    assert created and message.broadcast_event["sent"] is True
    assert [m.user_id for m in message.current_mentions] == [bob.pk]
