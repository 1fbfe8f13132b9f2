"""What the page shows while its socket is down, and how soon it is back: the wait
before each reconnect (static/chat/backoff.js, run in Chromium), a countdown, and
"Reconnect now" or the browser coming back online reconnecting at once."""

import pytest
from playwright.sync_api import expect

from tests.browser.pages import (
    create_room,
    expect_online,
    run_in_module,
    sign_up,
    socket_cut,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SECONDS_SHOWN = (
    "(() => { const m = document.getElementById('connection').textContent"
    ".match(/(\\d+) s/); return m ? Number(m[1]) : null; })()"
)


def test_the_wait_doubles_with_jitter_up_to_eight_seconds(browser, live_chat_server):
    bounds = run_in_module(
        browser.new_page(),
        live_chat_server,
        "backoff.js",
        "return [0, 1, 2, 3, 4, 5, 10, 50].map((attempt) => ["
        "  module.reconnectDelay(attempt, () => 0),"
        "  module.reconnectDelay(attempt, () => 1)]);",
    )
    assert bounds == [
        [250, 500],
        [500, 1000],
        [1000, 2000],
        [2000, 4000],
        [4000, 8000],
        [4000, 8000],
        [4000, 8000],
        [4000, 8000],
    ]


def offline_page(browser, server):
    page = browser.new_page()
    sign_up(page, server, "ana")
    create_room(page, server, "lobby", "Lobby")
    expect_online(page)
    return page


def wait_until_the_countdown_shows_at_least(page, seconds: int) -> int:
    page.wait_for_function(f"({SECONDS_SHOWN}) >= {seconds}", timeout=30_000)
    return page.evaluate(SECONDS_SHOWN)


def test_offline_counts_down_and_reconnect_now_reconnects_at_once(
    browser, live_chat_server
):
    page = offline_page(browser, live_chat_server)
    with socket_cut(page):
        # After a few refused attempts the wait is 4-8 s.
        shown = wait_until_the_countdown_shows_at_least(page, 5)
        # Counting down: one second less within a second, long before this wait
        # (at least 4 s) is over and another begins.
        page.wait_for_function(f"({SECONDS_SHOWN}) === {shown - 1}", timeout=1500)
        expect(page.get_by_test_id("reconnect-now")).to_be_visible()
    # The server is reachable again; at least 3 s of the wait are left.
    page.get_by_test_id("reconnect-now").click()
    expect(page.get_by_test_id("connection")).to_have_attribute(
        "data-state", "online", timeout=2000
    )
    expect(page.get_by_test_id("reconnect-now")).to_be_hidden()


def test_the_browser_coming_back_online_reconnects_at_once(browser, live_chat_server):
    page = offline_page(browser, live_chat_server)
    with socket_cut(page):
        wait_until_the_countdown_shows_at_least(page, 5)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    expect(page.get_by_test_id("connection")).to_have_attribute(
        "data-state", "online", timeout=2000
    )
