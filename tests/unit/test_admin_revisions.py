"""The message admin shows the revisions, read-only, and edits through the service
with its rules."""

import pytest
from django.utils import timezone

from chat import services
from chat.models import Message, MessageRevision

pytestmark = pytest.mark.django_db


@pytest.fixture
def edited(ana, general):
    message, _ = services.message_create(
        room=general, author=ana, body="the first words", client_id="a"
    )
    services.message_edit(message=message, editor=ana, body="the second words")
    return message


def change_form(message):
    return {
        "body": message.body,
        # The revisions inline is read-only, but its formset is still posted.
        "revisions-TOTAL_FORMS": "1",
        "revisions-INITIAL_FORMS": "1",
        "revisions-MIN_NUM_FORMS": "0",
        "revisions-MAX_NUM_FORMS": "1000",
        "revisions-0-id": str(message.revisions.get().pk),
        "revisions-0-message": str(message.pk),
    }


def test_the_change_page_lists_the_earlier_texts_read_only(admin_client, edited):
    page = admin_client.get(f"/admin/chat/message/{edited.pk}/change/").content
    assert b"the first words" in page
    assert b'name="revisions-0-body"' not in page  # shown, not editable


def test_an_admin_edit_keeps_a_revision(admin_client, edited):
    form = {**change_form(edited), "body": "the third words"}
    response = admin_client.post(f"/admin/chat/message/{edited.pk}/change/", form)
    assert response.status_code == 302, response.content
    edited.refresh_from_db()
    assert edited.body == "the third words"
    assert list(
        MessageRevision.objects.order_by("id").values_list("body", flat=True)
    ) == ["the first words", "the second words"]


def test_an_admin_edit_after_the_window_is_refused_with_the_reason(
    admin_client, edited
):
    Message.objects.filter(pk=edited.pk).update(
        created_at=timezone.now() - timezone.timedelta(days=1)
    )
    form = {**change_form(edited), "body": "rewritten later"}
    response = admin_client.post(
        f"/admin/chat/message/{edited.pk}/change/", form, follow=True
    )
    assert "can only be edited within" in response.content.decode()
    edited.refresh_from_db()
    assert edited.body == "the second words"
    assert MessageRevision.objects.count() == 1
