"""Editing a message: the window, the rules shared with sending, and the history kept
of every edit."""

import threading

import pytest
from django.db import connection
from django.utils import timezone

from chat import protocol, selectors, services
from chat.errors import (
    BadFrame,
    BodyEmpty,
    EditWindowClosed,
    Muted,
    NotMember,
    PermissionDenied,
    RateLimited,
)
from chat.models import Message, MessageRevision

pytestmark = pytest.mark.django_db


@pytest.fixture
def message(ana, general):
    message, _ = services.message_create(
        room=general, author=ana, body="first", client_id="m1"
    )
    return message


def age(message, seconds: int) -> None:
    """Make the message look posted that many seconds ago."""
    Message.objects.filter(pk=message.pk).update(
        created_at=timezone.now() - timezone.timedelta(seconds=seconds)
    )
    message.refresh_from_db()


def test_each_edit_keeps_the_text_it_replaced_oldest_first(ana, message):
    services.message_edit(message=message, editor=ana, body="second")
    services.message_edit(message=message, editor=ana, body=" third \r\n")
    message.refresh_from_db()
    assert message.body == "third"  # cleaned like a sent body
    revisions = list(message.revisions.all())
    assert [r.body for r in revisions] == ["first", "second"]
    assert all(r.editor_id == ana.pk for r in revisions)
    assert revisions[0].created_at <= revisions[1].created_at == message.edited_at


def test_an_unchanged_body_stores_and_broadcasts_nothing(
    ana, message, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = services.message_edit(message=message, editor=ana, body="  first ")
    assert callbacks == []
    assert result.edited_at is None
    assert not MessageRevision.objects.exists()


def test_an_edit_is_broadcast_once_after_commit(
    ana, message, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.message_edit(message=message, editor=ana, body="changed")
    assert len(callbacks) == 1


def test_edits_after_the_window_are_refused(ana, message, settings):
    settings.CHAT_EDIT_WINDOW_SECONDS = 3600
    age(message, 3599)
    services.message_edit(message=message, editor=ana, body="just in time")
    age(message, 3601)
    with pytest.raises(EditWindowClosed, match="within 1 hour"):
        services.message_edit(message=message, editor=ana, body="too late")
    message.refresh_from_db()
    assert message.body == "just in time"
    assert MessageRevision.objects.count() == 1


def test_a_window_of_zero_turns_editing_off(ana, message, settings):
    settings.CHAT_EDIT_WINDOW_SECONDS = 0
    with pytest.raises(EditWindowClosed, match="turned off"):
        services.message_edit(message=message, editor=ana, body="no")


def test_only_the_author_edits_even_a_moderator_may_not(ana, bob, general):
    message, _ = services.message_create(
        room=general, author=bob, body="bob's", client_id="b"
    )
    with pytest.raises(PermissionDenied):
        services.message_edit(message=message, editor=ana, body="owner's words")


def test_an_author_who_left_the_room_cannot_edit(ana, bob, general):
    message, _ = services.message_create(
        room=general, author=bob, body="bob's", client_id="b"
    )
    services.room_leave(user=bob, room=general)
    with pytest.raises(NotMember):
        services.message_edit(message=message, editor=bob, body="changed")


def test_a_muted_author_cannot_edit(ana, bob, general):
    message, _ = services.message_create(
        room=general, author=bob, body="bob's", client_id="b"
    )
    services.member_mute(room=general, actor=ana, user=bob, minutes=5)
    with pytest.raises(Muted):
        services.message_edit(message=message, editor=bob, body="changed")


def test_a_deleted_message_cannot_be_edited(ana, message):
    services.message_delete(message=message, actor=ana)
    with pytest.raises(PermissionDenied):
        services.message_edit(message=message, editor=ana, body="changed")


def test_an_empty_edit_is_refused_before_any_write(ana, message):
    with pytest.raises(BodyEmpty):
        services.message_edit(message=message, editor=ana, body=" \x00 ")
    assert not MessageRevision.objects.exists()


def test_edits_share_the_send_rate(bob, general, settings):
    settings.CHAT_SEND_BURST = "2/60"
    message, _ = services.message_create(
        room=general, author=bob, body="one", client_id="b"
    )
    services.message_edit(message=message, editor=bob, body="two")
    with pytest.raises(RateLimited):
        services.message_edit(message=message, editor=bob, body="three")


def test_moderators_and_staff_read_the_revisions_members_do_not(
    ana, bob, carol, general, make_user
):
    message, _ = services.message_create(
        room=general, author=bob, body="v1", client_id="b"
    )
    services.message_edit(message=message, editor=bob, body="v2")
    staff = make_user("boss", is_staff=True)
    services.room_join(user=carol, room=general)
    for reader in (ana, staff):
        revisions = selectors.message_revision_list(user=reader, message=message)
        assert [r.body for r in revisions] == ["v1"]
    for reader in (bob, carol):  # the author is a plain member here
        with pytest.raises(PermissionDenied):
            selectors.message_revision_list(user=reader, message=message)


def test_edit_and_delete_frames_are_parsed():
    assert protocol.parse_command(
        {"type": "message.edit", "id": 7, "body": "b"}
    ) == protocol.MessageEdit(7, "b")
    assert protocol.parse_command(
        {"type": "message.delete", "id": 7}
    ) == protocol.MessageDelete(7)
    for bad in (
        {"type": "message.edit", "id": "7", "body": "b"},
        {"type": "message.edit", "id": True, "body": "b"},
        {"type": "message.edit", "id": 7},
        {"type": "message.delete"},
        {"type": "message.delete", "id": -1},
    ):
        with pytest.raises(BadFrame):
            protocol.parse_command(bad)


@pytest.mark.django_db(transaction=True)
def test_concurrent_edits_each_keep_the_text_they_replaced(postgres, ana, general):
    """Both edits wait on a lock this test holds, then run: each must store the text
    the other left, so the history is a chain and nothing is lost."""
    from django.db import connections, transaction

    message, _ = services.message_create(
        room=general, author=ana, body="v0", client_id="c"
    )
    failures = []

    def edit(body):
        try:
            copy = Message.objects.select_related("room").get(pk=message.pk)
            services.message_edit(message=copy, editor=ana, body=body)
        except Exception as error:  # reported below, not lost in the thread
            failures.append(error)
        finally:
            connections.close_all()

    with transaction.atomic():
        Message.objects.select_for_update().get(pk=message.pk)
        threads = [threading.Thread(target=edit, args=(b,)) for b in ("a", "b")]
        for thread in threads:
            thread.start()
        # An edit that failed before reaching the lock (say, no pooled connection
        # free in time) says why, instead of only "never waited".
        wait_for_lock_waiters(2, failures=failures)
    for thread in threads:
        thread.join(timeout=10)
    assert failures == []
    message.refresh_from_db()
    chain = [r.body for r in message.revisions.order_by("id")] + [message.body]
    assert chain in (["v0", "a", "b"], ["v0", "b", "a"])


def wait_for_lock_waiters(count: int, timeout: float = 10, failures=()) -> None:
    """Until `count` other sessions of this database wait for a row lock; stops
    early with the errors of the sessions' threads if any failed meanwhile."""
    import time

    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            # Within a transaction (the caller holds the lock in one) PostgreSQL
            # keeps the first read of pg_stat_activity until the transaction ends
            # (stats_fetch_consistency = cache): without clearing it, a first poll
            # made before the sessions reached the lock is answered again and again.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0] >= count:
                return
            if failures:
                raise AssertionError(f"a session failed first: {failures!r}")
            time.sleep(0.02)  # polling PostgreSQL's view: there is no event to await
        cursor.execute(
            "SELECT state, wait_event_type, wait_event, left(query, 80)"
            " FROM pg_stat_activity WHERE datname = current_database()"
        )
        sessions = cursor.fetchall()
    raise AssertionError(f"{count} sessions never waited for the lock: {sessions!r}")


def test_a_staff_edit_is_recorded_and_audited_as_the_staff_members(
    make_user, ana, message
):
    from chat.models import ModerationAction

    staff = make_user("staffer", is_staff=True)
    services.message_edit_by_staff(
        message=message, actor=staff, body="redacted", reason="admin"
    )
    message.refresh_from_db()
    assert message.body == "redacted"
    assert message.revisions.get().editor_id == staff.pk
    entry = ModerationAction.objects.get()
    assert (entry.kind, entry.actor, entry.target_user) == ("message_edit", staff, ana)
    assert (entry.target_message_id, entry.reason) == (message.pk, "admin")


def test_a_staff_edit_is_not_held_back_by_the_authors_mute(make_user, bob, general):
    staff = make_user("staffer", is_staff=True)
    spam, _ = services.message_create(
        room=general, author=bob, body="spam", client_id="s"
    )
    services.member_mute(room=general, actor=staff, user=bob, minutes=10)
    services.message_edit_by_staff(message=spam, actor=staff, body="[removed]")
    spam.refresh_from_db()
    assert spam.body == "[removed]"


def test_only_staff_edit_someone_elses_message_and_within_the_window(
    make_user, bob, message
):
    with pytest.raises(PermissionDenied):
        services.message_edit_by_staff(message=message, actor=bob, body="mine now")
    age(message, 86400)
    with pytest.raises(EditWindowClosed):
        services.message_edit_by_staff(
            message=message, actor=make_user("staffer", is_staff=True), body="late"
        )
    message.refresh_from_db()
    assert message.body == "first"
    assert not MessageRevision.objects.exists()
