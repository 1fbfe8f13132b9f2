"""The room's timeline (static/chat/timeline.js) in Chromium: whatever order
messages come in (history pages, live frames, replays after a reconnect, the same
message twice), it shows each once, in id order, grouped by author (as a unit);
on the room page, scrolling back loads older messages by itself and the reader
keeps their place."""

import pytest
from playwright.sync_api import expect

from tests.browser.pages import messages, post_as, run_in_module

pytestmark = [pytest.mark.browser, pytest.mark.processes]

TIMELINE = """
document.body.insertAdjacentHTML("beforeend", `
  <section id="chat" data-history-url="/nowhere/" data-last-read-id="0">
    <button id="jump-unread" hidden></button>
    <button id="load-older" hidden></button>
    <ol id="messages"></ol>
  </section>`);
const list = document.getElementById("messages");
const decorated = [];
const timeline = module.createTimeline({
  chat: document.getElementById("chat"),
  list: list,
  me: 1,
  beforeShow() {},
  decorate(element, message) { decorated.push(message.id); },
});
const message = (id, authorId = 2) => ({
  id: id, client_id: `c${id}`, body: `m${id}`, mentions: [], attachments: [],
  reactions: [], author: { id: authorId, username: authorId === 2 ? "ana" : "bob" },
  created_at: "2026-12-07T10:00:00Z",
});
const items = () => [...list.querySelectorAll("li[data-id]")];
const ids = () => items().map((li) => Number(li.dataset.id));
const continued = () => items().map((li) => li.classList.contains("continued"));
"""


def run_timeline(browser, server, script: str):
    """`script` run after TIMELINE's set-up, in a page of the site."""
    return run_in_module(browser.new_page(), server, "timeline.js", TIMELINE + script)


def test_messages_show_once_each_in_id_order_whatever_order_they_come_in(
    browser, live_chat_server
):
    result = run_timeline(
        browser,
        live_chat_server,
        """
        for (const id of [5, 3, 4, 3, 1, 5, 2, 4]) {
          timeline.show(message(id));
        }
        const shown = ids();
        const newest = timeline.newestId;
        timeline.remove(3);
        timeline.remove(3);
        return { shown: shown, newest: newest, afterRemove: ids(),
                 decorated: decorated.length };
        """,
    )
    assert result["shown"] == [1, 2, 3, 4, 5]
    assert result["newest"] == 5
    assert result["afterRemove"] == [1, 2, 4, 5]
    assert result["decorated"] == 5  # a repeat is not even rendered again


def test_a_late_message_regroups_its_neighbours(browser, live_chat_server):
    result = run_timeline(
        browser,
        live_chat_server,
        """
        timeline.show(message(1));
        timeline.show(message(3));
        const before = continued();
        timeline.show(message(2, 3));  // bob's, between two of ana's
        const between = continued();
        timeline.remove(2);
        return { before: before, between: between, after: continued() };
        """,
    )
    assert result["before"] == [False, True]
    assert result["between"] == [False, False, False]
    assert result["after"] == [False, True]


# ---- on the room page ---------------------------------------------------------------


@pytest.mark.parametrize("width", [1280, 390])
def test_scrolling_back_loads_older_messages_and_keeps_the_readers_place(
    two_people, live_chat_server, width
):
    _, bob = two_people
    post_as("ana", "lobby", [f"old news {i}" for i in range(120)])
    bob.set_viewport_size({"width": width, "height": 800})
    bob.reload()
    expect(messages(bob)).to_have_count(50)
    for expected in (100, 120):
        # Scrolled to the top, as a reader would: no button pressed.
        anchor_id = bob.evaluate(
            "() => { const list = document.getElementById('messages');"
            " list.scrollTop = 0;"
            " return list.querySelector('li[data-id]').dataset.id; }"
        )
        expect(messages(bob)).to_have_count(expected)
        # The message that was at the top is still at the top (its day line and
        # author's name went to the older ones above it).
        offset = bob.evaluate(
            "(id) => { const list = document.getElementById('messages');"
            " const item = list.querySelector(`li[data-id='${id}']`);"
            " return item.getBoundingClientRect().top"
            " - list.getBoundingClientRect().top; }",
            anchor_id,
        )
        assert abs(offset) <= 2, offset
    ids = messages(bob).evaluate_all("els => els.map(e => Number(e.dataset.id))")
    assert ids == list(range(ids[0], ids[0] + 120))
    expect(bob.get_by_test_id("load-older")).to_be_hidden()
