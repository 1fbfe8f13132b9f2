"""Reactions: what counts as one emoji, who may react, idempotency, the cap, the
broadcast, and the `reactions` of the message object."""

import pytest

from chat import protocol, reactions, selectors, services
from chat.errors import (
    BadFrame,
    InvalidEmoji,
    Muted,
    NotFound,
    NotMember,
    RateLimited,
    TooManyReactions,
)
from chat.models import Reaction
from tests.layer import listen, next_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def message(ana, general):
    message, _ = services.message_create(
        room=general, author=ana, body="react to me", client_id="m1"
    )
    return message


@pytest.mark.parametrize(
    "emoji",
    [
        "👍",
        "👍🏽",  # skin tone
        "❤️",  # with the emoji presentation selector
        "❤",  # without it
        "👩‍👩‍👧",  # family: a zero-width-joiner sequence
        "🧑🏽‍🚀",  # profession with a skin tone
        "👩🏽‍❤️‍💋‍👨🏿",  # kiss, two skin tones, ten code points
        "🏳️‍🌈",  # rainbow flag
        "🏴‍☠️",
        "🇫🇷",  # flag: two regional indicators
        "🏴󠁧󠁢󠁳󠁣󠁴󠁿",  # Scotland: tag sequence
        "1️⃣",  # keycaps
        "#️⃣",
        "*⃣",
        "🫨",  # Unicode 15: newer than this Python's tables, still one emoji
    ],
)
def test_one_emoji_of_any_kind_is_accepted(emoji):
    assert reactions.emoji_clean(emoji) == emoji


@pytest.mark.parametrize(
    "emoji",
    [
        "",
        " ",
        "a",
        "1",
        ":)",
        "+1",
        "<b>",
        "👍👍",  # two emoji
        "👍 ",
        " 👍",
        "👍a",
        "🇫",  # half a flag
        "🇫🇷🇩",
        "🏽",  # a skin tone alone
        "\u200d",
        "👍\u200d",  # a dangling joiner
        "\u200d👍",
        "\ufe0f",
        "👍\n",
        "👩" + "\u200d👩" * 20,  # one "grapheme" longer than 32 characters
    ],
)
def test_anything_but_one_emoji_is_refused(emoji):
    with pytest.raises(InvalidEmoji, match="single emoji"):
        reactions.emoji_clean(emoji)


def test_reaction_frames_are_parsed_and_need_a_string_emoji():
    assert protocol.parse_command(
        {"type": "reaction.add", "message_id": 3, "emoji": "👍"}
    ) == protocol.ReactionAdd(3, "👍")
    assert protocol.parse_command(
        {"type": "reaction.remove", "message_id": 3, "emoji": "x"}
    ) == protocol.ReactionRemove(3, "x")  # the emoji rule is the service's
    for bad in (
        {"type": "reaction.add", "message_id": 3},
        {"type": "reaction.add", "message_id": 3, "emoji": 5},
        {"type": "reaction.add", "message_id": "3", "emoji": "👍"},
        {"type": "reaction.remove", "emoji": "👍"},
    ):
        with pytest.raises(BadFrame):
            protocol.parse_command(bad)


def test_adding_twice_or_removing_an_absent_one_changes_and_sends_nothing(
    ana, message, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert reactions.reaction_add(message=message, user=ana, emoji="👍") is True
        assert reactions.reaction_add(message=message, user=ana, emoji="👍") is False
    assert len(callbacks) == 1
    assert Reaction.objects.count() == 1
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert reactions.reaction_remove(message=message, user=ana, emoji="🎉") is False
        assert reactions.reaction_remove(message=message, user=ana, emoji="👍") is True
        assert reactions.reaction_remove(message=message, user=ana, emoji="👍") is False
    assert len(callbacks) == 1
    assert not Reaction.objects.exists()


def test_a_heart_with_or_without_its_presentation_selector_is_one_reaction(
    ana, bob, message
):
    assert reactions.reaction_add(message=message, user=ana, emoji="❤️") is True
    assert reactions.reaction_add(message=message, user=bob, emoji="❤") is True
    assert reactions.reaction_add(message=message, user=bob, emoji="❤️") is False
    assert list(Reaction.objects.values_list("emoji", flat=True)) == ["❤️", "❤️"]
    [heart] = protocol.reactions_object(message)
    assert (heart["emoji"], heart["count"]) == ("❤️", 2)
    assert reactions.reaction_remove(message=message, user=ana, emoji="❤") is True
    assert list(Reaction.objects.values_list("user", flat=True)) == [bob.pk]


def test_the_message_object_lists_emoji_by_first_reaction_and_users_in_order(
    ana, bob, carol, general, message
):
    services.room_join(user=carol, room=general)
    reactions.reaction_add(message=message, user=bob, emoji="🎉")
    reactions.reaction_add(message=message, user=ana, emoji="👍")
    reactions.reaction_add(message=message, user=carol, emoji="🎉")
    reactions.reaction_add(message=message, user=ana, emoji="🎉")
    page = selectors.message_page_before(room_id=general.pk, before_id=None, limit=5)
    assert protocol.message_object(page[0])["reactions"] == [
        {
            "emoji": "🎉",
            "count": 3,
            "users": [
                {"id": bob.pk, "username": "bob"},
                {"id": carol.pk, "username": "carol"},
                {"id": ana.pk, "username": "ana"},
            ],
        },
        {"emoji": "👍", "count": 1, "users": [{"id": ana.pk, "username": "ana"}]},
    ]


def test_a_history_page_loads_every_messages_reactions_in_one_query(
    ana, bob, general, django_assert_num_queries
):
    for i in range(30):
        message, _ = services.message_create(
            room=general, author=ana, body=str(i), client_id=str(i)
        )
        reactions.reaction_add(message=message, user=bob, emoji="👍")
        reactions.reaction_add(message=message, user=ana, emoji="🎉")
    for limit in (3, 30):
        # The messages with their authors, then all of their reactions with users,
        # then all of their attachments.
        with django_assert_num_queries(3):
            objects = [
                protocol.message_object(message, room_slug="general")
                for message in selectors.message_page_after(
                    room_id=general.pk, after_id=0, limit=limit
                )
            ]
        assert len(objects) == limit
        assert all(len(o["reactions"]) == 2 for o in objects)


def test_a_new_message_carries_no_reactions_without_a_query(
    ana, general, django_assert_num_queries
):
    message, _ = services.message_create(
        room=general, author=ana, body="new", client_id="n"
    )
    with django_assert_num_queries(0):
        assert protocol.message_object(message, room_slug="general")["reactions"] == []


def test_only_members_react(carol, message):
    with pytest.raises(NotMember):
        reactions.reaction_add(message=message, user=carol, emoji="👍")
    with pytest.raises(NotMember):
        reactions.reaction_remove(message=message, user=carol, emoji="👍")


def test_staff_who_are_not_members_do_not_react(make_user, message):
    with pytest.raises(NotMember):
        reactions.reaction_add(
            message=message, user=make_user("boss", is_staff=True), emoji="👍"
        )


def test_muted_members_neither_add_nor_remove(ana, bob, general, message):
    reactions.reaction_add(message=message, user=bob, emoji="👍")
    services.member_mute(room=general, actor=ana, user=bob, minutes=5)
    with pytest.raises(Muted):
        reactions.reaction_add(message=message, user=bob, emoji="🎉")
    with pytest.raises(Muted):
        reactions.reaction_remove(message=message, user=bob, emoji="👍")
    assert Reaction.objects.count() == 1


def test_deleted_messages_take_no_reactions(ana, message):
    services.message_delete(message=message, actor=ana)
    with pytest.raises(NotFound):
        reactions.reaction_add(message=message, user=ana, emoji="👍")


def test_distinct_emoji_per_message_are_capped(ana, bob, message, settings):
    settings.CHAT_REACTION_EMOJI_MAX = 3
    for emoji in ("👍", "🎉", "😂"):
        reactions.reaction_add(message=message, user=ana, emoji=emoji)
    with pytest.raises(TooManyReactions, match="at most 3"):
        reactions.reaction_add(message=message, user=ana, emoji="👀")
    # An emoji already there may still be added by someone else.
    assert reactions.reaction_add(message=message, user=bob, emoji="🎉") is True
    assert Reaction.objects.count() == 4


@pytest.mark.django_db(transaction=True)
def test_reaction_updated_carries_the_emojis_whole_state(ana, bob, general):
    message, _ = services.message_create(
        room=general, author=ana, body="hi", client_id="h"
    )
    channel = listen(general.group_name)
    reactions.reaction_add(message=message, user=ana, emoji="👍")
    reactions.reaction_add(message=message, user=bob, emoji="👍")
    reactions.reaction_remove(message=message, user=ana, emoji="👍")
    frames = [protocol.decode_frame(next_event(channel)["frame"]) for _ in range(3)]
    ana_object, bob_object = (
        {"id": ana.pk, "username": "ana"},
        {"id": bob.pk, "username": "bob"},
    )
    base = {"type": "reaction.updated", "room": "general", "message_id": message.pk}
    assert frames == [
        {**base, "emoji": "👍", "count": 1, "users": [ana_object],
         "user": ana_object, "added": True},
        {**base, "emoji": "👍", "count": 2, "users": [ana_object, bob_object],
         "user": bob_object, "added": True},
        {**base, "emoji": "👍", "count": 1, "users": [bob_object],
         "user": ana_object, "added": False},
    ]  # fmt: skip


def test_reaction_changes_have_a_rate_of_their_own(ana, general, message, settings):
    settings.CHAT_REACTION_BURST = "2/60"
    settings.CHAT_SEND_BURST = "2/60"  # the fixture's message used one of these
    reactions.reaction_add(message=message, user=ana, emoji="👍")
    reactions.reaction_remove(message=message, user=ana, emoji="👍")
    with pytest.raises(RateLimited, match="reacting too fast"):
        reactions.reaction_add(message=message, user=ana, emoji="👍")
    assert not Reaction.objects.exists()
    # Reacting did not use up the budget for talking.
    services.message_create(room=general, author=ana, body="still", client_id="s")
