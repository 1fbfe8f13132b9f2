"""A room reads as a conversation (static/chat/grouping.js): the same author's
messages within minutes form one group with the name once, and each day starts
with its name, in the viewer's time zone. The rule run in Chromium with fixed
times, and on the room page as people post."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.pages import (
    create_room,
    expect_online,
    messages,
    off_the_test_thread,
    post_as,
    run_in_module,
    send_message,
    sign_up,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHANGHAI = {"timezone_id": "Asia/Shanghai", "locale": "en-US"}


def groupings(page, server, pairs: list[list]) -> list[dict]:
    # Each pair: [previous, message] as [author id, ISO moment], previous or None.
    return run_in_module(
        page,
        server,
        "grouping.js",
        "const fact = (pair) =>"
        "  pair && ({authorId: pair[0], createdAt: new Date(pair[1])});"
        "return argument.map(([previous, message]) =>"
        "  module.grouping(fact(previous), fact(message)));",
        pairs,
    )


def test_the_same_author_within_minutes_continues_and_each_day_starts_anew(
    browser, live_chat_server
):
    page = browser.new_context(**SHANGHAI).new_page()
    first, soon, other, later, next_day, after_midnight_there = groupings(
        page,
        live_chat_server,
        [
            [None, [1, "2026-12-07T08:00:00Z"]],
            [[1, "2026-12-07T08:00:00Z"], [1, "2026-12-07T08:04:59Z"]],
            [[1, "2026-12-07T08:00:00Z"], [2, "2026-12-07T08:01:00Z"]],
            [[1, "2026-12-07T08:00:00Z"], [1, "2026-12-07T08:05:00Z"]],
            [[1, "2026-12-07T08:00:00Z"], [1, "2026-12-08T08:01:00Z"]],
            # 23:58 and 00:01 in Shanghai (same day in UTC): a new day here.
            [[1, "2026-12-07T15:58:00Z"], [1, "2026-12-07T16:01:00Z"]],
        ],
    )
    assert first == {"newDay": True, "continued": False}
    assert soon == {"newDay": False, "continued": True}
    assert other == {"newDay": False, "continued": False}
    assert later == {"newDay": False, "continued": False}
    assert next_day == {"newDay": True, "continued": False}
    assert after_midnight_there == {"newDay": True, "continued": False}


def test_a_day_is_named_today_yesterday_or_by_its_date(browser, live_chat_server):
    page = browser.new_context(**SHANGHAI).new_page()
    labels = run_in_module(
        page,
        live_chat_server,
        "grouping.js",
        "const now = new Date('2026-12-07T08:00:00Z');"
        "return argument.map((moment) =>"
        "  module.dayLabel(new Date(moment), now, 'en'));",
        [
            "2026-12-07T01:00:00Z",  # 09:00 today in Shanghai
            "2026-12-06T15:30:00Z",  # 23:30 yesterday in Shanghai
            "2026-12-01T04:00:00Z",
            "2025-12-01T04:00:00Z",
        ],
    )
    assert labels[:2] == ["Today", "Yesterday"]
    assert labels[2] == "Tuesday, December 1"
    assert labels[3] == "Monday, December 1, 2025"


def test_a_room_shows_groups_and_day_dividers_as_people_post(browser, live_chat_server):
    ana = browser.new_context(**SHANGHAI).new_page()
    sign_up(ana, live_chat_server, "ana")
    create_room(ana, live_chat_server, "lobby", "Lobby")
    post_as("ana", "lobby", ["from yesterday"])

    def move_to_yesterday():
        from django.utils import timezone

        from chat.models import Message

        Message.objects.filter(body="from yesterday").update(
            created_at=timezone.now() - timedelta(days=1)
        )

    off_the_test_thread(move_to_yesterday)
    ana.reload()
    expect_online(ana)
    for body in ["one", "two", "three"]:
        send_message(ana, body)
        expect(messages(ana).last).to_contain_text(body)
    items = messages(ana)
    # Grouped as they arrive live ...
    expect(items.nth(2)).to_have_class("continued")
    expect(items.nth(3)).to_have_class("continued")
    # ... and as history loads (bob posts from another process: the page reloads).
    bob_joins_and_posts("lobby", "hello from bob")
    ana.reload()
    expect(messages(ana)).to_have_count(5)
    assert items.nth(0).get_attribute("data-day") == "Yesterday"
    assert items.nth(1).get_attribute("data-day") == "Today"
    continued = [
        "continued" in (items.nth(i).get_attribute("class") or "") for i in range(5)
    ]
    assert continued == [False, False, True, True, False]
    # The name shows once per group.
    expect(items.nth(2).locator(".author")).to_be_hidden()
    expect(items.nth(1).locator(".author")).to_be_visible()
    expect(items.nth(4).locator(".author")).to_have_text("bob")


def bob_joins_and_posts(room_slug: str, body: str) -> None:
    def make_bob_a_member_and_post():
        from django.contrib.auth import get_user_model

        from chat import services
        from chat.models import Room

        bob = get_user_model().objects.create_user(username="bob", password="x-pw-123")
        room = Room.objects.get(slug=room_slug)
        services.room_join(user=bob, room=room)
        services.message_create(room=room, author=bob, body=body, client_id="bob-1")

    off_the_test_thread(make_bob_a_member_and_post)


def ana_posts_one_and_two(page, server):
    """ana signs up, creates 'lobby' and posts "one" then "two"; returns both."""
    sign_up(page, server, "ana")
    create_room(page, server, "lobby", "Lobby")
    expect_online(page)
    for body in ["one", "two"]:
        send_message(page, body)
        expect(messages(page).last).to_contain_text(body)
    return messages(page).nth(0), messages(page).nth(1)


def test_deleting_the_first_of_a_group_lets_the_next_one_lead_it(
    browser, live_chat_server
):
    ana = browser.new_context(**SHANGHAI).new_page()
    first, second = ana_posts_one_and_two(ana, live_chat_server)
    expect(second).to_have_class("continued")
    ana.once("dialog", lambda dialog: dialog.accept())
    first.get_by_test_id("delete").click()
    expect(messages(ana)).to_have_count(1)
    leader = messages(ana).first
    expect(leader).not_to_have_class("continued")
    expect(leader).to_have_attribute("data-day", "Today")
    expect(leader.locator(".author")).to_be_visible()


def test_a_messages_actions_show_on_hover_or_focus_not_as_a_row_of_their_own(
    browser, live_chat_server
):
    ana = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    first, second = ana_posts_one_and_two(ana, live_chat_server)
    actions = first.get_by_test_id("message-actions")
    # No reaction yet: no row for them; the actions take no line of their own
    # (the second message: the first also carries the day's name).
    expect(second.get_by_test_id("reactions")).to_be_hidden()
    assert second.bounding_box()["height"] < 32
    ana.mouse.move(0, 0)
    expect(actions).to_have_css("opacity", "0")
    first.hover()
    expect(actions).to_have_css("opacity", "1")
    expect(second.get_by_test_id("message-actions")).to_have_css("opacity", "0")
    # From the keyboard: the focused action shows its toolbar.
    ana.mouse.move(0, 0)
    second.get_by_test_id("add-reaction").focus()
    expect(second.get_by_test_id("message-actions")).to_have_css("opacity", "1")
    ana.keyboard.press("Enter")
    ana.get_by_test_id("palette-emoji").first.click()
    expect(second.get_by_test_id("reaction")).to_have_count(1)
    expect(second.get_by_test_id("reactions")).to_be_visible()


def test_on_a_touch_screen_a_tap_shows_one_messages_actions(browser, live_chat_server):
    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True
    ).new_page()
    first, second = ana_posts_one_and_two(phone, live_chat_server)
    expect(first.get_by_test_id("message-actions")).to_be_hidden()
    first.locator(".body").tap()
    expect(first.get_by_test_id("message-actions")).to_be_visible()
    second.locator(".body").tap()
    expect(second.get_by_test_id("message-actions")).to_be_visible()
    expect(first.get_by_test_id("message-actions")).to_be_hidden()
    second.get_by_test_id("add-reaction").tap()
    expect(second.get_by_test_id("reaction-palette")).to_be_visible()


def test_on_a_touch_screen_a_long_press_opens_a_messages_actions(
    browser, live_chat_server
):
    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True
    ).new_page()
    first, second = ana_posts_one_and_two(phone, live_chat_server)
    actions = first.get_by_test_id("message-actions")
    expect(actions).to_be_hidden()
    box = first.locator(".body").bounding_box()
    point = {"x": box["x"] + 5, "y": box["y"] + box["height"] / 2}
    touch = phone.context.new_cdp_session(phone)
    touch.send(
        "Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [point]}
    )
    # Still pressed: the toolbar opens by itself after the press has lasted.
    expect(actions).to_be_visible()
    touch.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    # Lifting the finger does not close it again (as the tap that ends it would).
    second.locator(".body").evaluate("() => new Promise(requestAnimationFrame)")
    expect(actions).to_be_visible()
    first.get_by_test_id("add-reaction").tap()
    expect(first.get_by_test_id("reaction-palette")).to_be_visible()
