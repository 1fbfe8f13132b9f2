"""Unread counts: visible messages by others after the member's read marker."""

import pytest

from chat import selectors, services

pytestmark = pytest.mark.django_db


def post(room, author, n, prefix="m"):
    return [
        services.message_create(
            room=room, author=author, body=f"{prefix}{i}", client_id=f"{prefix}{i}"
        )[0]
        for i in range(n)
    ]


def test_counts_follow_the_read_marker(ana, bob, general):
    messages = post(general, ana, 5)
    counts = selectors.room_unread_counts(user=bob, room_id=general.pk)
    assert counts == {
        "unread_count": 5,
        "mention_count": 0,
        "last_read_id": 0,
        "last_id": messages[-1].pk,
    }
    services.membership_mark_read(user=bob, room=general, last_id=messages[2].pk)
    counts = selectors.room_unread_counts(user=bob, room_id=general.pk)
    assert counts["unread_count"] == 2 and counts["last_read_id"] == messages[2].pk


def test_the_count_stops_at_the_cap(ana, bob, general, monkeypatch, settings):
    settings.CHAT_SEND_BURST = "100/5"
    settings.CHAT_SEND_SUSTAINED = "100/60"
    monkeypatch.setattr(selectors, "UNREAD_COUNT_CAP", 3)
    post(general, ana, 5)
    assert (
        selectors.room_unread_counts(user=bob, room_id=general.pk)["unread_count"] == 3
    )
    assert {r.slug: r.unread_count for r in selectors.room_list_for_user(user=bob)} == {
        "general": 3
    }


def test_a_read_that_moves_nothing_tells_nobody(
    ana, bob, general, django_capture_on_commit_callbacks
):
    messages = post(general, ana, 2)
    with django_capture_on_commit_callbacks() as moved:
        services.membership_mark_read(user=bob, room=general, last_id=messages[1].pk)
    with django_capture_on_commit_callbacks() as unmoved:
        services.membership_mark_read(user=bob, room=general, last_id=messages[0].pk)
    assert len(moved) == 1 and unmoved == []
