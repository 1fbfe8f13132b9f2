"""Initials avatars (static/chat/avatars.js): one or two whole letters of the name,
one colour per person, beside the first message of each group only."""

import pytest
from playwright.sync_api import expect

from tests.browser.pages import WIDTHS, at_width, messages, run_in_module, send_message

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_initials_are_whole_letters_of_the_first_two_parts_of_a_name(
    browser, live_chat_server
):
    names = ["ana", "ana.li", "bob_the-builder", "李雷", "émile", "👩‍🚀pilot", "x"]
    result = run_in_module(
        browser.new_page(),
        live_chat_server,
        "avatars.js",
        "return {initials: argument.map(module.initials),"
        " colours: [1, 2, 1].map(module.avatarColour)};",
        names,
    )
    assert result["initials"] == ["A", "AL", "BT", "李", "É", "👩‍🚀", "X"]
    first, second, first_again = result["colours"]
    assert first == first_again and first != second


@pytest.mark.parametrize("width", WIDTHS)
def test_an_avatar_starts_each_group_and_not_its_continuation(two_people, width):
    ana, bob = two_people
    at_width(ana, bob, width=width)
    send_message(ana, "one")
    send_message(ana, "two")
    send_message(bob, "three")
    expect(messages(ana)).to_have_count(3)
    avatars = messages(ana).locator(".avatar")
    expect(avatars.nth(0)).to_be_visible()
    expect(avatars.nth(0)).to_have_text("A")
    expect(avatars.nth(1)).to_be_hidden()  # "two" continues ana's group
    expect(avatars.nth(2)).to_have_text("B")
    expect(avatars.nth(0)).to_have_attribute("aria-hidden", "true")
    assert avatars.nth(0).evaluate("e => getComputedStyle(e).backgroundColor") != (
        avatars.nth(2).evaluate("e => getComputedStyle(e).backgroundColor")
    )
