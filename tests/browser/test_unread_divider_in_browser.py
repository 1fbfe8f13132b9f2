"""This visit's "New" line (static/chat/unread.js): above the first message someone
else wrote after the member last read the room, with "Jump to first unread" while
it is out of sight or still in unloaded history. The rule run in Chromium, and two
people: one away while the other writes."""

import time

import pytest
from playwright.sync_api import expect

from tests.browser.pages import (
    WIDTHS,
    at_width,
    messages,
    off_the_test_thread,
    post_as,
    run_in_module,
    send_message,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def dividers(browser, server, cases: list[list]) -> list[dict]:
    # Each case: [shown as [[id, author id]...], readBefore, moreOlder]; me is 1.
    return run_in_module(
        browser.new_page(),
        server,
        "unread.js",
        "return argument.map(([shown, readBefore, moreOlder]) =>"
        "  module.unreadDivider(shown.map(([id, authorId]) => ({id, authorId})),"
        "    readBefore, 1, moreOlder));",
        cases,
    )


def test_the_line_goes_above_the_first_message_of_others_after_the_marker(
    browser, live_chat_server
):
    others, mine_first, all_read, never_read, maybe_older, none_read_no_more = dividers(
        browser,
        live_chat_server,
        [
            [[[10, 2], [12, 2], [11, 2]], 10, True],
            [[[10, 2], [11, 1], [12, 2]], 10, True],  # my own is not unread
            [[[10, 2], [11, 2]], 11, True],
            [[[10, 2], [11, 2]], 0, True],  # never read: no line at all
            [[[20, 2], [21, 2]], 10, True],  # older pages may hold 11..19
            [[[20, 2], [21, 2]], 10, False],
        ],
    )
    assert others == {"id": 11, "settled": True}
    assert mine_first == {"id": 12, "settled": True}
    assert all_read == {"id": None, "settled": True}
    assert never_read == {"id": None, "settled": True}
    assert maybe_older == {"id": 20, "settled": False}
    assert none_read_no_more == {"id": 20, "settled": True}


def read_up_to_the_newest(username: str) -> None:
    """Until the member's read marker reached the room's newest message (the page
    sends it over the socket, at most about once a second: polling the database,
    there is no event to await from here)."""

    def reached() -> bool:
        from chat.models import Membership

        membership = Membership.objects.select_related("room").get(
            room__slug="lobby", user__username=username
        )
        return membership.last_read_id == membership.room.last_message_id

    answers = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        off_the_test_thread(lambda: answers.append(reached()))
        if answers[-1]:
            return
        time.sleep(0.1)
    raise AssertionError(f"{username}'s read marker never reached the newest message")


def open_lobby_from_the_list(page) -> None:
    page.get_by_test_id("room-list").get_by_role("link", name="Lobby").click()


def test_coming_back_shows_new_messages_under_the_line(two_people, live_chat_server):
    ana, bob = two_people
    send_message(ana, "seen by both")
    expect(messages(bob)).to_have_count(1)
    read_up_to_the_newest("bob")
    bob.goto(f"{live_chat_server.http_url}/")
    for text in ("while you were away", "and this", "and that"):
        send_message(ana, text)
    expect(messages(ana)).to_have_count(4)
    open_lobby_from_the_list(bob)
    line = bob.locator("[data-testid=messages] li.first-unread")
    expect(line).to_have_count(1)
    expect(line).to_contain_text("while you were away")
    # In sight at once: nothing to jump to.
    expect(bob.get_by_test_id("jump-unread")).to_be_hidden()
    bob.screenshot(path="test-artifacts/unread-line-1280.png")


@pytest.mark.parametrize("width", WIDTHS)
def test_jump_to_first_unread_loads_the_history_that_holds_it(
    two_people, live_chat_server, width
):
    ana, bob = two_people
    at_width(ana, bob, width=width)
    send_message(ana, "seen by both")
    expect(messages(bob)).to_have_count(1)
    read_up_to_the_newest("bob")
    bob.goto(f"{live_chat_server.http_url}/")
    post_as("ana", "lobby", [f"away {n}" for n in range(70)])
    open_lobby_from_the_list(bob)
    expect(messages(bob)).to_have_count(50)
    jump = bob.get_by_test_id("jump-unread")
    expect(jump).to_be_visible()
    expect(bob.locator("li.first-unread")).to_have_count(0)  # not loaded yet
    jump.click()
    line = bob.locator("[data-testid=messages] li.first-unread")
    expect(line).to_contain_text("away 0")
    expect(line).to_be_in_viewport()
    expect(jump).to_be_hidden()
