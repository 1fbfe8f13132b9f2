"""The admin writes messages through the services, so its changes are broadcast, and
offers no way to post in someone else's name."""

import pytest

from chat.models import Message
from tests.layer import listen, next_event

pytestmark = pytest.mark.django_db(transaction=True)


def test_adding_a_message_in_someone_elses_name_is_not_offered(
    admin_client, ana, general
):
    assert admin_client.get("/admin/chat/message/add/").status_code == 403
    response = admin_client.post(
        "/admin/chat/message/add/",
        {"room": general.pk, "author": ana.pk, "body": "not mine", "client_id": "a"},
    )
    assert response.status_code == 403
    assert not Message.objects.exists()
    page = admin_client.get("/admin/chat/message/").content.decode()
    assert "/admin/chat/message/add/" not in page


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
