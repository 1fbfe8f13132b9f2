"""Times in one format, in the viewer's time zone (static/chat/times.js): the format
itself run in Chromium with a fixed clock, and a message's time the same on the
room page and in search results, where the server wrote it in UTC."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.pages import (
    create_room,
    expect_online,
    messages,
    run_in_module,
    send_message,
    sign_up,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHANGHAI = {"timezone_id": "Asia/Shanghai", "locale": "en-US"}


def formatted(page, server, moments: list[str], now: str, language: str):
    return run_in_module(
        page,
        server,
        "times.js",
        "const [moments, now, language] = argument;"
        "return moments.map((moment) =>"
        "  module.formatMoment(new Date(moment), new Date(now), language));",
        [moments, now, language],
    )


def test_a_moment_shows_as_much_date_as_it_needs_in_24_hour_time(
    browser, live_chat_server
):
    page = browser.new_context(**SHANGHAI).new_page()
    now = "2026-12-07T08:00:00Z"  # 16:00 on Monday 7 December in Shanghai
    today, this_week, this_year, last_year = formatted(
        page,
        live_chat_server,
        [
            "2026-12-07T06:05:00Z",  # 14:05 today
            "2026-12-05T13:30:00Z",  # Saturday 21:30
            "2026-11-01T01:00:00Z",  # 1 November 09:00
            "2025-03-09T15:45:00Z",  # 9 March 2025 23:45
        ],
        now,
        "en",
    )
    assert today == "14:05"
    assert this_week.startswith("Sat") and this_week.endswith("21:30"), this_week
    assert "Nov" in this_year and "09:00" in this_year, this_year
    assert "2026" not in this_year
    assert "Mar" in last_year and "2025" in last_year and "23:45" in last_year
    [chinese] = formatted(
        page, live_chat_server, ["2026-12-05T13:30:00Z"], now, "zh-hans"
    )
    assert chinese.startswith("周六") and chinese.endswith("21:30"), chinese


def test_a_message_shows_the_same_local_time_in_the_room_and_in_search(
    browser, live_chat_server
):
    page = browser.new_context(**SHANGHAI).new_page()
    sign_up(page, live_chat_server, "ana")
    create_room(page, live_chat_server, "lobby", "Lobby")
    expect_online(page)
    send_message(page, "findable words")
    room_time = messages(page).first.locator("time")
    expect(room_time).to_have_text(re.compile(r"^\d\d:\d\d$"))
    shown = room_time.text_content()
    page.get_by_test_id("search-input").fill("findable")
    page.get_by_test_id("search-submit").click()
    search_time = page.get_by_test_id("search-time")
    # The server wrote "YYYY-MM-DD HH:MM" in UTC; the page shows Shanghai's time.
    # (Ending with it: a message sent just before midnight is "yesterday" by then.)
    expect(search_time).to_have_text(re.compile(re.escape(shown) + "$"))
    assert search_time.get_attribute("title")  # the full date and time
