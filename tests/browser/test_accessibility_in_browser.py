"""axe-core (4.12, from axe-playwright-python) on every page people use, at desktop
and phone width, in English and Chinese: no serious or critical violation."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.browser.pages import (
    create_room,
    expect_online,
    send_message,
    sign_up,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SERIOUS = {"serious", "critical"}


def serious_violations(page) -> list[str]:
    """Each serious or critical violation as 'rule: the first offending element'."""
    results = Axe().run(page).response
    return [
        f"{violation['id']} ({violation['impact']}): "
        f"{[node['target'] for node in violation['nodes']]} {violation['help']}"
        for violation in results["violations"]
        if violation["impact"] in SERIOUS
    ]


def pages_of_a_member(browser, server, **context) -> dict[str, list[str]]:
    """Every page a member meets, scanned once each: sign-up and log-in forms, the
    room list with its creation form, a room with messages and its moderation
    panel (ana owns it), search results, the password change form, a direct
    conversation."""
    found = {}
    visitor = browser.new_context(**context).new_page()
    for path in ("/accounts/login/", "/accounts/signup/"):
        visitor.goto(f"{server.http_url}{path}")
        found[path] = serious_violations(visitor)
    page = browser.new_context(**context).new_page()
    sign_up(page, server, "ana")
    found["/ (room list)"] = serious_violations(page)
    create_room(page, server, "lobby", "Lobby")
    expect_online(page)
    send_message(page, "hello there")
    expect(page.locator("[data-testid=messages] li[data-id]")).to_have_count(1)
    found["/rooms/lobby/"] = serious_violations(page)
    page.goto(f"{server.http_url}/search/?q=hello")
    found["/search/"] = serious_violations(page)
    page.goto(f"{server.http_url}/accounts/password_change/")
    found["/accounts/password_change/"] = serious_violations(page)
    # A direct conversation (with bob, who signs up in another context).
    sign_up(browser.new_context(**context).new_page(), server, "bob")
    page.goto(f"{server.http_url}/rooms/lobby/")
    page.evaluate("window.chatApp.openDirect('bob')")
    expect(page.get_by_test_id("direct-title")).to_be_visible()
    expect_online(page)
    found["a direct conversation"] = serious_violations(page)
    return found


def test_a_message_is_sent_with_the_keyboard_alone_from_page_load(
    browser, live_chat_server
):
    """Tab from the top of the room page reaches the message field, every stop
    showing where the focus is; Enter sends."""
    page = browser.new_context().new_page()
    sign_up(page, live_chat_server, "ana")
    create_room(page, live_chat_server, "lobby", "Lobby")
    expect_online(page)
    page.reload()
    expect_online(page)
    stops = []
    for _ in range(40):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => { const e = document.activeElement; const s = getComputedStyle(e);"
            "  return {testid: e.dataset.testid || e.id || e.tagName,"
            "    outline: s.outlineStyle !== 'none' && s.outlineWidth !== '0px'"
            "      || s.boxShadow !== 'none'}; }"
        )
        stops.append(focused)
        if focused["testid"] == "body":
            break
    assert stops[-1]["testid"] == "body", stops
    assert [stop for stop in stops if not stop["outline"]] == []
    page.keyboard.type("typed without a mouse")
    page.keyboard.press("Enter")
    expect(page.locator("[data-testid=messages] li[data-id]")).to_contain_text(
        ["typed without a mouse"]
    )


@pytest.mark.parametrize(
    "context",
    [
        {"viewport": {"width": 1280, "height": 800}, "locale": "en-US"},
        {"viewport": {"width": 390, "height": 844}, "locale": "en-US"},
        {"viewport": {"width": 1280, "height": 800}, "locale": "zh-CN"},
        {"viewport": {"width": 390, "height": 844}, "locale": "zh-CN"},
    ],
    ids=["1280-en", "390-en", "1280-zh", "390-zh"],
)
def test_no_page_has_a_serious_accessibility_violation(
    browser, live_chat_server, context
):
    found = pages_of_a_member(browser, live_chat_server, **context)
    assert {path: found[path] for path in found if found[path]} == {}
