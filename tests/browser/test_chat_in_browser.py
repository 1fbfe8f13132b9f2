"""Two people chat in real Chromium: sign up, create and join a room, talk,
reconnect."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import Page, expect

from tests.browser.pages import (  # noqa: F401 (helpers other test modules use)
    PASSWORD,
    WIDTHS,
    at_width,
    expect_online,
    messages,
    post_as,
    send_message,
    sign_up,
    socket_cut,
)

pytestmark = [pytest.mark.browser, pytest.mark.processes]


@pytest.mark.parametrize("width", WIDTHS)
def test_two_people_see_each_others_messages_live(two_people, width):
    ana, bob = two_people
    at_width(ana, bob, width=width)
    send_message(ana, "hello from ana")
    expect(messages(bob).last).to_contain_text("hello from ana")
    send_message(bob, "hi ana, bob here")
    expect(messages(ana).last).to_contain_text("hi ana, bob here")
    expect(messages(ana)).to_have_count(2)
    expect(messages(bob)).to_have_count(2)


def test_markup_in_a_message_is_shown_as_text(two_people):
    ana, bob = two_people
    markup = '<b id="injected">bold</b><img src=x onerror="window.pwned=1">'
    send_message(ana, markup)
    expect(messages(bob).last.locator(".body")).to_have_text(markup)
    assert bob.locator("#injected").count() == 0
    assert bob.evaluate("window.pwned") is None


def test_history_and_load_older_after_reload(two_people, live_chat_server):
    ana, bob = two_people
    post_as("ana", "lobby", [f"old {i}" for i in range(60)])
    bob.reload()
    expect(messages(bob)).to_have_count(50)
    expect(messages(bob).first).to_contain_text("old 10")
    bob.get_by_test_id("load-older").click()
    expect(messages(bob)).to_have_count(60)
    expect(messages(bob).first).to_contain_text("old 0")
    expect(bob.get_by_test_id("load-older")).to_be_hidden()


def test_after_a_server_restart_messages_sent_meanwhile_appear_once(
    two_people, live_chat_server
):
    ana, bob = two_people
    send_message(ana, "before the restart")
    expect(messages(bob)).to_have_count(1)
    live_chat_server.stop()
    # The browser reports the close only after its closing handshake gives up.
    expect(bob.get_by_test_id("connection")).to_have_attribute(
        "data-state", "offline", timeout=15_000
    )
    # While the server is down a message is stored (as another server process would).
    post_as("ana", "lobby", ["while you were away"])
    live_chat_server.start()
    for page in (ana, bob):
        expect(
            page.locator("li[data-id]", has_text="while you were away")
        ).to_have_count(1, timeout=20_000)
        expect_online(page)
    send_message(bob, "after the restart")
    expect(messages(ana).last).to_contain_text("after the restart")
    expect(messages(ana)).to_have_count(3)
    expect(messages(bob)).to_have_count(3)


@pytest.mark.parametrize("width", WIDTHS)
def test_after_a_dropped_socket_messages_sent_meanwhile_appear_once(two_people, width):
    ana, bob = two_people
    at_width(ana, bob, width=width)
    send_message(ana, "first")
    expect(messages(bob)).to_have_count(1)
    # Drop bob's socket and refuse his reconnects, so that ana's message can only
    # reach him by the replay.
    with socket_cut(bob):
        send_message(ana, "sent while bob was offline")
        expect(messages(ana)).to_have_count(2)
        assert messages(bob).count() == 1
    expect(
        bob.locator("li[data-id]", has_text="sent while bob was offline")
    ).to_have_count(1, timeout=20_000)
    expect_online(bob)
    expect(messages(bob)).to_have_count(2)


def test_deleted_message_disappears_from_open_pages(two_people, live_chat_server):
    ana, bob = two_people
    send_message(ana, "a mistake")
    expect(messages(bob)).to_have_count(1)
    message_id = messages(bob).first.get_attribute("data-id")
    response = ana.request.delete(
        f"{live_chat_server.http_url}/api/v1/messages/{message_id}/",
        headers={"X-CSRFToken": csrf_token(ana)},
    )
    assert response.status == 204
    expect(messages(bob)).to_have_count(0)
    expect(messages(ana)).to_have_count(0)


def test_staff_notification_is_shown_to_the_user(two_people, live_chat_server):
    ana, bob = two_people
    make_staff("ana")
    bob_id = bob.evaluate("Number(document.getElementById('chat').dataset.userId)")
    response = ana.request.post(
        f"{live_chat_server.http_url}/api/v1/users/{bob_id}/notify/",
        data={"data": {"text": "Maintenance at <b>noon</b>"}},
        headers={"X-CSRFToken": csrf_token(ana)},
    )
    assert response.status == 202
    note = bob.get_by_test_id("notification")
    expect(note).to_contain_text("Maintenance at <b>noon</b>")
    assert bob.locator(".notification b").count() == 0


def csrf_token(page: Page) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")


def make_staff(username: str) -> None:
    def promote():
        from django.contrib.auth import get_user_model
        from django.db import connection

        get_user_model().objects.filter(username=username).update(is_staff=True)
        connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(promote).result()


def test_unread_count_shows_in_the_room_list_until_the_room_is_read(
    two_people, live_chat_server
):
    ana, bob = two_people
    bob.goto(f"{live_chat_server.http_url}/")
    post_as("ana", "lobby", ["one", "two"])
    bob.reload()
    expect(bob.get_by_test_id("unread-lobby")).to_have_text("2")
    bob.get_by_test_id("room-list").get_by_role("link", name="Lobby").click()
    expect(messages(bob)).to_have_count(2)
    expect_online(bob)
    # The page sends `read` once it is subscribed; the list then shows nothing.
    bob.wait_for_function("window.chatRoom.newestId > 0")
    bob.goto(f"{live_chat_server.http_url}/")
    expect(bob.get_by_test_id("unread-lobby")).to_be_hidden()
    expect(bob.get_by_test_id("list-unread-lobby")).to_be_hidden()


def test_room_owner_cleans_up_spam_from_the_room_page(two_people):
    """ana owns the room: she deletes bob's message, mutes him, then bans him."""
    ana, bob = two_people
    send_message(bob, "BUY CHEAP STUFF")
    expect(messages(ana)).to_have_count(1)
    expect(ana.get_by_test_id("member-bob")).to_be_visible()
    messages(ana).first.get_by_test_id("delete").click()
    expect(messages(ana)).to_have_count(0)
    expect(messages(bob)).to_have_count(0)

    ana.get_by_test_id("mute-bob").click()
    expect(ana.get_by_test_id("member-bob")).to_contain_text("muted")
    # bob's composer closes and says so (tests/browser/test_composer_state...).
    expect(bob.get_by_test_id("composer-state")).to_contain_text("muted")
    expect(bob.get_by_test_id("body")).to_be_disabled()

    ana.get_by_test_id("ban-bob").click()
    expect(bob.get_by_test_id("connection")).to_contain_text(
        "removed from room (banned)"
    )
    expect(bob.get_by_test_id("composer-state")).to_contain_text("banned")
    expect(ana.get_by_test_id("member-bob")).to_have_count(0)


def test_plain_members_see_no_moderation_tools(two_people):
    ana, bob = two_people
    send_message(ana, "hello")
    expect(messages(bob)).to_have_count(1)
    expect(bob.get_by_test_id("moderation")).to_be_hidden()
    expect(messages(bob).first.get_by_test_id("delete")).to_have_count(0)
