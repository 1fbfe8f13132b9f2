"""Unread counting for the sidebar's badges (static/chat/badges.js), run in Chromium:
the server's count plus each later message by someone else, each counted once
however often it arrives, and what a moved read marker leaves counted. The badges
live on the page are in test_direct_and_unread.py and test_chat_in_browser.py."""

import pytest

from tests.browser.pages import run_in_module

pytestmark = [pytest.mark.browser, pytest.mark.processes]


def counted(browser, server, script: str):
    """`script` run with static/chat/badges.js as `badges`, `msg(id, author)` making a
    message, the viewer being user 1."""
    return run_in_module(
        browser.new_page(),
        server,
        "badges.js",
        "const badges = module;"
        "const msg = (id, author = 2) => ({ id: id, author: { id: author } });"
        + script,
    )


def test_each_later_message_by_someone_else_counts_once(browser, live_chat_server):
    result = counted(
        browser,
        live_chat_server,
        """
        const fresh = badges.freshBadge(3, 0, 10);  // the server: 3 unread up to #10
        const same = badges.withMessage(fresh, msg(9), 1);  // already counted there
        let badge = fresh;
        for (const message of [msg(11), msg(12), msg(11), msg(13, 1), msg(12)]) {
          badge = badges.withMessage(badge, message, 1);
        }
        return { unchanged: same === fresh, count: badge.count, seen: badge.seen };
        """,
    )
    assert result["unchanged"] is True  # at or below lastId: the server counted it
    assert result["count"] == 5  # 11 and 12 once each; 13 is the viewer's own
    assert result["seen"] == [11, 12]


def test_a_moved_marker_keeps_what_came_after_it(browser, live_chat_server):
    result = counted(
        browser,
        live_chat_server,
        """
        let badge = badges.freshBadge(0, 0, 10);
        for (const id of [11, 12, 13]) {
          badge = badges.withMessage(badge, msg(id), 1);
        }
        badge = badges.withMention(badge, 13);
        badge = badges.withMention(badge, 13);
        const mentioned = badge.mentions;
        // Another tab read up to #12: the server counts 0 there; 13 still counts.
        badge = badges.withUnread(badge, {
          unread_count: 0, mention_count: 0, last_id: 12 });
        const afterRead = { count: badge.count, mentions: badge.mentions };
        const fromNothing = badges.withUnread(undefined, {
          unread_count: 4, mention_count: 1, last_id: 20 });
        return { mentioned: mentioned, afterRead: afterRead,
                 fromNothing: [fromNothing.count, fromNothing.mentions] };
        """,
    )
    assert result["mentioned"] == 1
    assert result["afterRead"] == {"count": 1, "mentions": 1}
    assert result["fromNothing"] == [4, 1]


def test_a_deleted_message_is_no_longer_counted_and_titles_show_the_total(
    browser, live_chat_server
):
    result = counted(
        browser,
        live_chat_server,
        """
        let badge = badges.freshBadge(2, 0, 10);
        badge = badges.withMessage(badge, msg(11), 1);
        badge = badges.withMention(badge, 11);
        const before = badge;
        badge = badges.withoutMessage(badge, 11);
        const twice = badges.withoutMessage(badge, 11);
        const unknown = badges.withoutMessage(badge, 5);  // not one this page counted
        return {
          before: [before.count, before.mentions],
          after: [badge.count, badge.mentions],
          twice: twice === badge, unknown: unknown === badge,
          titles: [badges.titleWithUnread("Lobby", 3),
                   badges.titleWithUnread("(3) Lobby", 0),
                   badges.titleWithUnread("(999+) Lobby", 1000),
                   badges.titleWithUnread("(2) Lobby", 7)],
        };
        """,
    )
    assert result["before"] == [3, 1]
    assert result["after"] == [2, 0]
    assert result["twice"] and result["unknown"]
    assert result["titles"] == ["(3) Lobby", "Lobby", "(999+) Lobby", "(7) Lobby"]
