"""Direct messages and live unread badges, as people use them in Chromium."""

import pytest
from playwright.sync_api import expect

from tests.browser.pages import expect_online, messages, post_as, send_message

pytestmark = [pytest.mark.browser, pytest.mark.processes]


def test_a_conversation_starts_from_a_name_and_is_listed_apart(two_people):
    ana, bob = two_people
    send_message(ana, "anyone around?")
    expect(messages(bob)).to_have_count(1)
    # bob clicks ana's name on her message: a private conversation opens.
    messages(bob).first.get_by_test_id("author").click()
    expect(bob.get_by_test_id("direct-title")).to_have_text("@ana direct message")
    expect_online(bob)
    # ana, still in the lobby, sees the conversation appear in her sidebar...
    conversation = ana.get_by_test_id("direct-list").get_by_role("link", name="@bob")
    expect(conversation).to_be_visible()
    send_message(bob, "psst, just you and me")
    # ...with an unread badge that counts bob's message live.
    slug = bob.evaluate("document.getElementById('chat').dataset.room")
    expect(ana.get_by_test_id(f"unread-{slug}")).to_have_text("1")
    # It is not a room: the lobby's list of rooms does not show it.
    expect(ana.get_by_test_id("sidebar").get_by_text("psst")).to_have_count(0)
    conversation.click()
    expect(messages(ana)).to_have_count(1)
    expect(messages(ana).first).to_contain_text("psst, just you and me")
    expect(ana.get_by_test_id(f"unread-{slug}")).to_be_hidden()
    expect_online(ana)
    send_message(ana, "hi bob")
    expect(messages(bob).last).to_contain_text("hi bob")
    # No leave button in a conversation, no moderation tools for either.
    expect(bob.get_by_role("button", name="Leave room")).to_have_count(0)
    expect(bob.get_by_test_id("moderation")).to_be_hidden()


def test_a_conversation_starts_from_the_sidebar_form(two_people):
    ana, bob = two_people
    ana.get_by_test_id("direct-username").fill("bob")
    ana.get_by_test_id("direct-open").get_by_role("button").click()
    expect(ana.get_by_test_id("direct-title")).to_have_text("@bob direct message")
    ana.get_by_test_id("direct-username").fill("nobody-by-that-name")
    ana.get_by_test_id("direct-open").get_by_role("button").click()
    expect(ana.locator(".flash")).to_contain_text("nobody-by-that-name")


def test_unread_badges_count_live_and_clear_in_every_tab(
    two_people, live_chat_server, redis_url
):
    """Needs Redis: messages posted by this test process reach the server's sockets
    through the shared channel layer."""
    ana, bob = two_people
    # A second room that bob belongs to but is not looking at.
    ana.goto(f"{live_chat_server.http_url}/")
    ana.fill("#id_slug", "news")
    ana.fill("#id_name", "News")
    ana.click("[data-testid=room-create] button[type=submit]")
    bob.goto(f"{live_chat_server.http_url}/")
    bob.get_by_test_id("join-news").click()
    expect_online(bob)
    bob.get_by_test_id("sidebar").get_by_role("link", name="Lobby").click()
    expect_online(bob)
    badge = bob.get_by_test_id("unread-news")
    expect(badge).to_be_hidden()
    post_as("ana", "news", ["headline one", "headline two"])
    expect(badge).to_have_text("2")
    # Messages in the room bob is reading do not count.
    send_message(ana, "news for lobby readers too")  # ana is on the News page
    expect(bob.get_by_test_id("unread-lobby")).to_be_hidden()
    # bob reads News in another tab: the first tab's badge clears live.
    reader = bob.context.new_page()
    reader.goto(f"{live_chat_server.http_url}/rooms/news/")
    expect(messages(reader)).to_have_count(3)
    expect(badge).to_be_hidden()
    reader.close()
