"""Mentions: which `@names` count, the rows they leave, and who is told when."""

import pytest
from django.db import connection

from chat import selectors, services
from chat.mentions import mention_candidates, mentioned_members
from chat.models import Mention

pytestmark = pytest.mark.django_db


def names(room, author, body):
    found = mentioned_members(room_id=room.pk, author_id=author.pk, body=body)
    return [user.username for user in found]


def post(room, author, body, client_id="c"):
    message, _ = services.message_create(
        room=room, author=author, body=body, client_id=client_id
    )
    return message


def test_candidates_try_the_name_as_written_then_without_trailing_punctuation():
    assert mention_candidates("hi @bob.., and @ana-: @carol!") == [
        ["bob..", "bob.", "bob"],
        ["ana-", "ana"],
        ["carol"],
    ]


def test_an_email_address_mentions_nobody():
    assert mention_candidates("write to ana@example.org or @@bob") == [["@bob"]]
    assert mention_candidates("no mention here") == []


def test_candidates_are_distinct_and_capped(settings):
    settings.CHAT_MENTIONS_MAX_PER_MESSAGE = 3
    body = " ".join(f"@u{i} @u{i}" for i in range(10))
    assert mention_candidates(body) == [["u0"], ["u1"], ["u2"]]


@pytest.mark.parametrize(
    "body",
    ["@bob", "hey @bob.", "@bob, look", "@bob: hi", "really @bob!", "@bob?", "(@bob)"],
)
def test_punctuation_after_a_name_is_not_part_of_it(ana, general, body):
    assert names(general, ana, body) == ["bob"]


def test_a_username_ending_in_a_dot_is_matched_exactly_first(make_user, ana, general):
    dotted = make_user("bob.")
    services.room_join(user=dotted, room=general)
    assert names(general, ana, "@bob.") == ["bob."]
    assert names(general, ana, "@bob. and @bob") == ["bob.", "bob"]


def test_unknown_names_and_non_members_mention_nobody(ana, carol, general):
    assert names(general, ana, "@nobody @carol") == []


def test_the_author_does_not_mention_themself(ana, general):
    assert names(general, ana, "note to self @ana") == []


def test_case_is_ignored_when_no_username_matches_exactly(make_user, ana, general):
    assert names(general, ana, "@BOB and @Bob") == ["bob"]
    # Two members differing only in case: exact wins, otherwise nobody is guessed.
    other = make_user("Bob")
    services.room_join(user=other, room=general)
    assert names(general, ana, "@Bob") == ["Bob"]
    assert names(general, ana, "@BOB") == []


def test_inactive_members_are_not_mentioned(ana, bob, general):
    bob.is_active = False
    bob.save()
    assert names(general, ana, "@bob") == []


def test_message_create_records_mentions_and_the_message_object_lists_them(
    ana, bob, general, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = post(general, ana, "@bob @carol @bob see this")
    assert list(Mention.objects.values_list("message", "user")) == [
        (message.pk, bob.pk)
    ]
    assert len(callbacks) == 2  # the broadcast, then the mention
    from chat.protocol import message_object

    assert message_object(message)["mentions"] == [{"id": bob.pk, "username": "bob"}]


def test_a_message_without_mentions_costs_no_extra_query(
    ana, general, django_assert_num_queries, django_capture_on_commit_callbacks
):
    post(general, ana, "warm up", client_id="w")
    # Storing alone: one statement on PostgreSQL (chat.message_store), the ORM's
    # steps elsewhere; each inside the savepoint pair of the test's transaction.
    storing = 3 if connection.vendor == "postgresql" else 8
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        with django_assert_num_queries(storing):
            message = post(general, ana, "no names here")
    assert message.current_mentions == []
    assert len(callbacks) == 1


def test_editing_in_a_new_mention_notifies_only_the_new_member(
    ana, bob, carol, general, django_capture_on_commit_callbacks
):
    services.room_join(user=carol, room=general)
    message = post(general, ana, "hi @bob")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.message_edit(message=message, editor=ana, body="hi @bob and @carol")
    assert len(callbacks) == 2  # message.edited, and one mention event
    assert set(
        Mention.objects.filter(message=message).values_list("user", flat=True)
    ) == {bob.pk, carol.pk}


def test_a_mention_removed_and_added_back_is_not_notified_twice(
    ana, bob, general, django_capture_on_commit_callbacks
):
    message = post(general, ana, "hi @bob")
    services.message_edit(message=message, editor=ana, body="hi all")
    assert Mention.objects.get(message=message).in_body is False
    from chat.protocol import message_object

    assert message_object(message)["mentions"] == []
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.message_edit(message=message, editor=ana, body="hi @bob again")
    assert len(callbacks) == 1  # message.edited only
    assert Mention.objects.get(message=message).in_body is True
    assert message_object(message)["mentions"] == [{"id": bob.pk, "username": "bob"}]


def test_history_pages_attach_mentions_in_one_query(
    ana, bob, carol, general, django_assert_num_queries
):
    services.room_join(user=carol, room=general)
    for i in range(10):
        post(general, ana, f"@bob @carol {i}" if i % 2 else f"plain {i}", f"c{i}")
    # The page, then all its reactions, attachments and mentions: one query each.
    with django_assert_num_queries(4):
        page = selectors.message_page_before(
            room_id=general.pk, before_id=None, limit=10
        )
        from chat.protocol import message_object

        objects = [message_object(m, room_slug="general") for m in page]
    assert [len(o["mentions"]) for o in objects] == [2, 0] * 5
    # No `@` on the page: the page, its reactions and attachments; no mention query.
    with django_assert_num_queries(3):
        page = selectors.message_page_after(
            room_id=general.pk, after_id=page[2].pk, limit=1
        )
        [message_object(m, room_slug="general") for m in page]
    assert page[0].body == "plain 8"


def test_room_list_counts_unread_mentions_of_the_user(ana, bob, general):
    post(general, ana, "@bob one", "1")
    second = post(general, ana, "@bob two", "2")
    post(general, ana, "nothing for bob", "3")
    third = post(general, ana, "@bob three", "4")
    services.message_delete(message=third, actor=ana)

    def count(user):
        rooms = selectors.room_list_for_user(user=user)
        return {room.slug: room.mention_count for room in rooms}

    assert count(bob) == {"general": 2}
    assert count(ana) == {"general": 0}
    services.membership_mark_read(user=bob, room=general, last_id=second.pk - 1)
    assert count(bob) == {"general": 1}
    services.membership_mark_read(user=bob, room=general, last_id=second.pk)
    assert count(bob) == {"general": 0}
