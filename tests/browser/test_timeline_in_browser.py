"""The room's timeline (static/chat/timeline.js) as a unit, in Chromium: whatever
order messages come in (history pages, live frames, replays after a reconnect,
the same message twice), it shows each once, in id order, grouped by author."""

import pytest

from tests.browser.pages import run_in_module

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
