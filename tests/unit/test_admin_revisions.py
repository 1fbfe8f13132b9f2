"""The message admin shows the revisions, read-only, and edits through the service
with its rules: an edit of someone else's message is the staff member's, and a
refusal is a form error."""

import pytest
from django.utils import timezone

from chat import services
from chat.models import Message, MessageRevision, ModerationAction

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


def test_an_admin_edit_keeps_a_revision_made_by_the_staff_member(
    admin_client, admin_user, ana, edited
):
    form = {**change_form(edited), "body": "the third words"}
    response = admin_client.post(f"/admin/chat/message/{edited.pk}/change/", form)
    assert response.status_code == 302, response.content
    edited.refresh_from_db()
    assert edited.body == "the third words"
    revisions = MessageRevision.objects.order_by("id")
    assert [(r.body, r.editor_id) for r in revisions] == [
        ("the first words", ana.pk),
        ("the second words", admin_user.pk),
    ]
    entry = ModerationAction.objects.get()
    assert (entry.kind, entry.actor, entry.target_user) == (
        "message_edit",
        admin_user,
        ana,
    )
    assert (entry.target_message_id, entry.reason) == (edited.pk, "admin")


def test_a_muted_author_editing_in_the_admin_gets_a_form_error(
    admin_client, admin_user, make_user, general
):
    services.room_join(user=admin_user, room=general)
    own, _ = services.message_create(
        room=general, author=admin_user, body="my words", client_id="own"
    )
    chief = make_user("chief", is_staff=True, is_superuser=True)
    services.member_mute(room=general, actor=chief, user=admin_user, minutes=10)
    form = {"body": "changed while muted", "revisions-TOTAL_FORMS": "0",
            "revisions-INITIAL_FORMS": "0", "revisions-MIN_NUM_FORMS": "0",
            "revisions-MAX_NUM_FORMS": "1000"}  # fmt: skip
    response = admin_client.post(f"/admin/chat/message/{own.pk}/change/", form)
    assert response.status_code == 200
    assert "You are muted here until" in response.content.decode()
    assert response.context["adminform"].form.errors
    own.refresh_from_db()
    assert own.body == "my words"
    assert not MessageRevision.objects.exists()


def test_an_admin_edit_after_the_window_is_refused_with_the_reason(
    admin_client, edited
):
    Message.objects.filter(pk=edited.pk).update(
        created_at=timezone.now() - timezone.timedelta(days=1)
    )
    form = {**change_form(edited), "body": "rewritten later"}
    response = admin_client.post(f"/admin/chat/message/{edited.pk}/change/", form)
    assert response.status_code == 200  # the form again, with the reason
    assert "can only be edited within" in response.content.decode()
    edited.refresh_from_db()
    assert edited.body == "the second words"
    assert MessageRevision.objects.count() == 1
