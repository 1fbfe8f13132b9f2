"""Mentions and search in real Chromium: a mention reaches its member on another
room's page and badges the room list; search from the top bar pages through the
user's own rooms only."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.pages import (
    create_room,
    expect_online,
    messages,
    post_as,
    send_message,
    two_people_in_lobby,
)
from tests.servers import ChatServer

pytestmark = [pytest.mark.browser, pytest.mark.processes]


@pytest.fixture
def ana_and_bob(browser, live_chat_server: ChatServer):
    """ana creates 'lobby', which bob joins; both are signed in."""
    return two_people_in_lobby(browser, live_chat_server)


def test_a_mention_reaches_the_member_on_another_rooms_page(
    ana_and_bob, live_chat_server
):
    ana, bob = ana_and_bob
    create_room(
        bob, live_chat_server, "garden", "Garden"
    )  # bob now looks at another room
    expect_online(bob)
    expect_online(ana)
    send_message(ana, '@bob, can you look at <b id="injected">this</b>?')
    # ana's own page shows the name highlighted, as text.
    expect(messages(ana).last.get_by_test_id("mention")).to_have_text("@bob")

    note = bob.get_by_test_id("mention-notification")
    expect(note).to_contain_text("ana mentioned you in #Lobby")
    expect(note.get_by_role("link")).to_have_attribute(
        "href", re.compile(r"^/rooms/lobby/#message-\d+$")
    )
    expect(messages(bob)).to_have_count(0)  # garden's history is untouched

    bob.goto(f"{live_chat_server.http_url}/")
    expect(bob.get_by_test_id("mentions-lobby")).to_have_text("@1")
    expect(bob.get_by_test_id("mentions-garden")).to_be_hidden()
    # The sidebar shows the same @ badge, kept live over the socket.
    expect(bob.get_by_test_id("sidebar-mentions-lobby")).to_have_text("@1")
    bob.get_by_test_id("room-list").get_by_role("link", name="Lobby").click()
    mentioned = messages(bob).last
    expect(mentioned).to_have_class("mentions-me")
    expect(mentioned.locator(".mention.me")).to_have_text("@bob")
    expect(mentioned.locator(".body")).to_have_text(
        '@bob, can you look at <b id="injected">this</b>?'
    )
    assert bob.locator("#injected").count() == 0


def test_search_from_the_top_bar_finds_only_the_users_rooms_and_pages_back(
    ana_and_bob, live_chat_server
):
    ana, bob = ana_and_bob
    create_room(ana, live_chat_server, "vault", "Vault", private=True)
    post_as("ana", "lobby", [f"deploy step {i}" for i in range(25)])
    post_as("ana", "vault", ["deploy the secret thing"])

    bob.goto(f"{live_chat_server.http_url}/")
    bob.get_by_test_id("search-input").fill("deploy")
    bob.get_by_test_id("search-input").press("Enter")
    results = bob.get_by_test_id("search-result")
    expect(results).to_have_count(20)
    expect(results.first).to_contain_text("deploy step 24")
    expect(results.first.locator("mark")).to_have_text("deploy")
    expect(results.first.get_by_role("link", name="#Lobby")).to_be_visible()
    expect(bob.get_by_text("secret")).to_have_count(0)

    bob.get_by_test_id("search-older").click()
    expect(results).to_have_count(5)
    expect(results.last).to_contain_text("deploy step 0")
    expect(bob.get_by_test_id("search-older")).to_have_count(0)
    expect(bob.get_by_text("secret")).to_have_count(0)

    results.first.get_by_role("link", name="#Lobby").click()
    expect(bob.locator("h1")).to_contain_text("Lobby")
    # ana, a member of the vault, does find it.
    ana.get_by_test_id("search-input").fill("secret")
    ana.get_by_test_id("search-input").press("Enter")
    expect(ana.get_by_test_id("search-result")).to_have_count(1)
    expect(ana.get_by_test_id("search-result")).to_contain_text("#Vault")
