"""The admin writes messages through the services, so its changes are broadcast."""

import pytest

from chat.models import Message
from tests.layer import listen, next_event

pytestmark = pytest.mark.django_db(transaction=True)


def test_admin_added_message_is_stored_and_broadcast_once(admin_client, ana, general):
    channel = listen(general.group_name)
    response = admin_client.post(
        "/admin/chat/message/add/",
        {
            "room": general.pk,
            "author": ana.pk,
            "body": " from admin ",
            "client_id": "adm1",
        },
    )
    assert response.status_code == 302, response.content
    message = Message.objects.get(client_id="adm1")
    assert message.body == "from admin"
    event = next_event(channel)
    assert event["type"] == "chat.message.created"
    assert event["id"] == message.pk


def test_admin_refuses_a_message_from_a_non_member(admin_client, carol, general):
    response = admin_client.post(
        "/admin/chat/message/add/",
        {"room": general.pk, "author": carol.pk, "body": "hi", "client_id": "adm2"},
    )
    assert response.status_code == 200
    assert "not a member" in response.content.decode()
    assert not Message.objects.exists()


def test_admin_delete_is_a_broadcast_soft_delete(admin_client, ana, general):
    from chat import services

    message, _ = services.message_create(
        room=general, author=ana, body="x", client_id="d"
    )
    channel = listen(general.group_name)
    admin_client.post(f"/admin/chat/message/{message.pk}/delete/", {"post": "yes"})
    message.refresh_from_db()
    assert message.deleted_at is not None
    assert next_event(channel)["type"] == "chat.message.changed"
