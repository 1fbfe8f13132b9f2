"""The typing indicator: the client logic of static/chat/typing.js run in Chromium
(who is shown, for how long, how often we tell the room), and two people in a room:
one types, the other sees it, until the message arrives."""

import pytest
from playwright.sync_api import expect

from tests.browser.pages import WIDTHS, at_width, run_in_module, send_message

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def in_typing_module(browser, server, script: str):
    """`script` run in Chromium with static/chat/typing.js as `typing`."""
    return run_in_module(
        browser.new_page(), server, "typing.js", "const typing = module;" + script
    )


def test_typists_are_shown_until_their_time_runs_out_or_they_send(
    browser, live_chat_server
):
    result = in_typing_module(
        browser,
        live_chat_server,
        """
        const typists = new typing.Typists();
        const shown = typing.TYPING_SHOWN_MS;
        const steps = [];
        typists.seen({id: 2, username: "bob"}, 0);
        typists.seen({id: 3, username: "ana"}, 1000);
        steps.push(typists.names(shown - 1));     // both, sorted
        steps.push(typists.nextExpiry());          // bob's time
        typists.seen({id: 2, username: "bob"}, 4000);  // bob types on: refreshed
        steps.push(typists.names(shown + 1500));  // ana's time ran out
        steps.push(typists.stopped(2));            // bob's message arrived
        steps.push(typists.names(shown + 1500));
        steps.push(typists.nextExpiry());
        return steps;
        """,
    )
    assert result == [["ana", "bob"], 6000, ["bob"], True, [], None]


def test_we_tell_the_room_at_most_every_two_seconds_and_only_with_text(
    browser, live_chat_server
):
    result = in_typing_module(
        browser,
        live_chat_server,
        """
        const sent = [];
        const sender = new typing.TypingSender(() => { sent.push(now); return true; });
        let now = 0;
        for (now = 0; now <= 5000; now += 250) sender.changed("hello", now);
        now = 5100; sender.changed("   ", now);   // only blanks: nothing
        now = 5200; sender.messageSent();
        now = 5300; sender.changed("next", now);  // a new message: at once
        return sent;
        """,
    )
    assert result == [0, 2000, 4000, 5300]


def test_the_text_names_one_or_two_typists_and_counts_more(browser, live_chat_server):
    result = in_typing_module(
        browser,
        live_chat_server,
        """
        const gettext = (text) => text;
        const interpolate = (text, values) =>
          text.replace(/%\\((\\w+)\\)s/g, (_, name) => values[name]);
        return [[], ["bob"], ["ana", "bob"], ["ana", "bob", "eve"]].map(
          (names) => typing.typingText(names, gettext, interpolate));
        """,
    )
    assert result == [
        "",
        "bob is typing…",
        "ana and bob are typing…",
        "Several people are typing…",
    ]


@pytest.mark.parametrize("width", WIDTHS)
def test_the_room_sees_who_is_typing_until_their_message_arrives(two_people, width):
    ana, bob = two_people
    at_width(ana, bob, width=width)
    bob.get_by_test_id("body").press_sequentially("hel")
    expect(ana.get_by_test_id("typing")).to_have_text("bob is typing…")
    expect(bob.get_by_test_id("typing")).to_have_text("")  # not shown to oneself
    bob.get_by_test_id("body").fill("")
    send_message(bob, "hello ana")
    expect(ana.get_by_test_id("messages")).to_contain_text("hello ana")
    # Cleared by the message itself, not by the time running out (6 s).
    expect(ana.get_by_test_id("typing")).to_have_text("", timeout=1000)


def test_ones_own_typing_in_another_tab_is_not_shown(two_people):
    ana, bob = two_people
    other_tab = bob.context.new_page()
    other_tab.goto(bob.url)
    expect(other_tab.get_by_test_id("connection")).to_have_attribute(
        "data-state", "online"
    )
    bob.get_by_test_id("body").press_sequentially("hel")
    expect(ana.get_by_test_id("typing")).to_have_text("bob is typing…")
    # The frame reached bob's other tab too (the server relays it to every socket
    # of the room but the sender's); a message sent after it arrives after it.
    send_message(ana, "after the typing")
    expect(other_tab.get_by_test_id("messages")).to_contain_text("after the typing")
    expect(other_tab.get_by_test_id("typing")).to_have_text("")


def test_a_typist_who_goes_quiet_is_no_longer_shown(two_people):
    ana, bob = two_people
    bob.get_by_test_id("body").press_sequentially("hm")
    expect(ana.get_by_test_id("typing")).to_have_text("bob is typing…")
    # No more frames from bob: gone after TYPING_SHOWN_MS (6 s).
    expect(ana.get_by_test_id("typing")).to_have_text("", timeout=10_000)
