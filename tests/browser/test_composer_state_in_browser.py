"""The composer says when it is closed and why (static/chat/composer.js): muted until
when and for what reason, banned; it opens again when the mute is lifted or ends. A
send the server refused stays where it was written, with the reason, "Retry" and
"Remove". The rule run in Chromium with fixed times, and two people in a room."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.pages import (
    WIDTHS,
    at_width,
    expect_online,
    messages,
    off_the_test_thread,
    run_in_module,
    send_message,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def composer_states(browser, server, cases: list[dict]) -> list[dict]:
    """composerState for each case ({mutedUntil: ISO or null, muteReason,
    removedReason}) at 2026-12-07 10:00 in Shanghai, in English."""
    page = browser.new_context(timezone_id="Asia/Shanghai", locale="en-US").new_page()
    return run_in_module(
        page,
        server,
        "composer.js",
        "document.documentElement.lang = 'en';"
        "const now = new Date('2026-12-07T02:00:00Z');"
        "return argument.map((facts) => {"
        "  const state = module.composerState({...facts,"
        "    mutedUntil: facts.mutedUntil && new Date(facts.mutedUntil)}, now);"
        "  const reopensAt = state.reopensAt && state.reopensAt.toISOString();"
        "  return {...state, reopensAt: reopensAt};"
        "});",
        cases,
    )


def test_the_composer_says_until_when_and_why_a_member_is_muted(
    browser, live_chat_server
):
    free, today, tomorrow, over, banned = composer_states(
        browser,
        live_chat_server,
        [
            {"mutedUntil": None, "muteReason": "", "removedReason": None},
            {"mutedUntil": "2026-12-07T06:05:00Z", "muteReason": ""},
            {
                "mutedUntil": "2026-12-08T06:05:00Z",
                "muteReason": "cool down",
                "removedReason": None,
            },
            {"mutedUntil": "2026-12-07T01:59:00Z", "muteReason": "x"},
            {"mutedUntil": None, "muteReason": "", "removedReason": "banned"},
        ],
    )
    assert free == {"open": True, "text": "", "reopensAt": None}
    # In the viewer's time zone (Shanghai, UTC+8): 14:05 today.
    assert today == {
        "open": False,
        "text": "You are muted here until 14:05.",
        "reopensAt": "2026-12-07T06:05:00.000Z",
    }
    assert tomorrow["open"] is False
    assert tomorrow["text"] == (
        "You are muted here until Tue, Dec 8, 14:05. Reason: cool down"
    )
    assert over == free  # a mute that has ended closes nothing
    assert banned["open"] is False and "banned" in banned["text"]


def moderate(page, path: str, body: dict | None = None) -> None:
    """A moderator's REST call from their room page (the server broadcasts it; in
    the embedded default the test process's own layer would reach no socket)."""
    status = page.evaluate(
        "async ([path, body]) => {"
        "  const token = document.querySelector('[name=csrfmiddlewaretoken]').value;"
        "  const response = await fetch(path, {method: 'POST',"
        "    headers: {'Content-Type': 'application/json', 'X-CSRFToken': token},"
        "    body: JSON.stringify(body || {})});"
        "  return response.status;"
        "}",
        [path, body],
    )
    assert status < 300, status


def member_path(page, username: str) -> str:
    base = page.locator("#chat").get_attribute("data-members-url")
    user_id = page.evaluate(
        "async ([url, name]) => (await (await fetch(url)).json())"
        "  .find((member) => member.user.username === name).user.id",
        [base, username],
    )
    return f"{base}{user_id}/"


def test_a_muted_member_sees_the_composer_close_and_open_again_live(two_people):
    ana, bob = two_people
    bob_path = member_path(ana, "bob")
    moderate(ana, f"{bob_path}mute/", {"minutes": 30, "reason": "cool down"})
    state = bob.get_by_test_id("composer-state")
    expect(state).to_be_visible()
    expect(state).to_contain_text("You are muted here until")
    expect(state).to_contain_text("Reason: cool down")
    expect(bob.get_by_test_id("body")).to_be_disabled()
    expect(bob.get_by_test_id("send")).to_be_disabled()
    expect(bob.get_by_test_id("emoji")).to_be_disabled()
    # A page opened while muted starts closed.
    bob.reload()
    expect(bob.get_by_test_id("body")).to_be_disabled()
    expect(bob.get_by_test_id("composer-state")).to_contain_text("cool down")
    moderate(ana, f"{bob_path}unmute/")
    expect(bob.get_by_test_id("composer-state")).to_be_hidden()
    expect(bob.get_by_test_id("body")).to_be_enabled()
    send_message(bob, "back again")
    expect(messages(ana).last).to_contain_text("back again")


def quietly_muted(username: str) -> None:
    """A mute the page has not heard of (say, set while its socket was down): the
    row changed without the service's broadcast."""

    def act():
        from django.utils import timezone

        from chat.models import Membership

        Membership.objects.filter(room__slug="lobby", user__username=username).update(
            muted_until=timezone.now() + timedelta(minutes=5)
        )

    off_the_test_thread(act)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_refused_send_says_why_and_can_be_retried_or_removed(two_people, width):
    ana, bob = two_people
    at_width(ana, bob, width=width)
    quietly_muted("bob")
    send_message(bob, "first try")
    refused = bob.locator("[data-testid=messages] li.failed")
    expect(refused).to_contain_text("first try")
    expect(refused.get_by_test_id("refusal")).to_contain_text("muted")
    # The refusal said until when: the composer is closed now too.
    expect(bob.get_by_test_id("body")).to_be_disabled()
    bob.screenshot(path="test-artifacts/composer-refused-1280.png")
    phone = bob.context.browser.new_context(
        storage_state=bob.context.storage_state(),
        viewport={"width": 390, "height": 844},
    ).new_page()
    phone.goto(bob.url)
    expect_online(phone)
    expect(phone.get_by_test_id("composer-state")).to_be_in_viewport()
    expect(phone.get_by_test_id("composer-state")).to_contain_text("muted")
    phone.screenshot(path="test-artifacts/composer-muted-390.png")
    ana.get_by_test_id("unmute-bob").click()
    expect(bob.get_by_test_id("body")).to_be_enabled()
    send_message(bob, "second try")
    expect(messages(ana).last).to_contain_text("second try")
    refused.get_by_test_id("retry-send").click()
    expect(messages(ana).last).to_contain_text("first try")
    expect(messages(bob).filter(has_text="first try")).to_have_count(1)
    expect(bob.locator("[data-testid=messages] li.failed")).to_have_count(0)
    quietly_muted("bob")
    send_message(bob, "never mind")
    refused = bob.locator("[data-testid=messages] li.failed")
    expect(refused).to_contain_text("never mind")
    refused.get_by_test_id("remove-send").click()
    expect(bob.locator("[data-testid=messages] li.failed")).to_have_count(0)
    expect(bob.get_by_text("never mind")).to_have_count(0)
