"""The page at phone and desktop widths: nothing wider than the screen, the
conversation taking the width on a phone with the room list as a drawer, the
composer in view, and the sidebar beside the conversation on a desktop."""

import pytest
from playwright.sync_api import expect

from tests.browser.pages import create_room, expect_online, send_message, sign_up

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
SMALL_PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
LONG_NAME = "The room of everyone who chats about everything all day"


def page_at(browser, viewport, server, username):
    page = browser.new_context(viewport=viewport).new_page()
    sign_up(page, server, username)
    return page


def page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def box(page, test_id) -> dict:
    return page.get_by_test_id(test_id).bounding_box()


def test_on_a_phone_the_conversation_takes_the_width_and_nothing_scrolls_sideways(
    browser, live_chat_server
):
    page = page_at(browser, PHONE, live_chat_server, "ana")
    create_room(page, live_chat_server, "everything", LONG_NAME)
    expect_online(page)
    send_message(page, "a message long enough to wrap across several lines on a phone")
    expect(page.get_by_test_id("messages").locator("li[data-id]")).to_have_count(1)
    assert page_width(page) <= PHONE["width"]
    messages = box(page, "messages")
    assert messages["x"] >= 0 and messages["width"] >= PHONE["width"] - 40, messages
    assert messages["height"] >= PHONE["height"] * 0.6, messages  # and the height
    for part in ("body", "send", "attach"):
        found = box(page, part)
        assert 0 <= found["x"] and found["x"] + found["width"] <= PHONE["width"], part
        assert found["y"] + found["height"] <= PHONE["height"], part  # in view
    expect(page.get_by_test_id("sidebar")).to_be_hidden()
    # The on-screen keyboard takes half the screen (the page is resized for it):
    # the composer stays in view.
    page.set_viewport_size({"width": PHONE["width"], "height": 420})
    page.get_by_test_id("body").focus()
    composer = box(page, "body")
    assert composer["y"] >= 0 and composer["y"] + composer["height"] <= 420, composer


def test_on_a_phone_the_room_list_is_a_drawer(browser, live_chat_server):
    page = page_at(browser, PHONE, live_chat_server, "ana")
    create_room(page, live_chat_server, "lobby", "Lobby")
    toggle = page.get_by_test_id("drawer-toggle")
    sidebar = page.get_by_test_id("sidebar")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(sidebar).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(sidebar.get_by_role("link", name="Lobby")).to_be_focused()
    # Slid in (it moves for a fifth of a second), within the screen.
    page.wait_for_function(
        "document.getElementById('sidebar').getBoundingClientRect().left >= 0"
    )
    drawer = sidebar.bounding_box()
    assert drawer["x"] + drawer["width"] <= PHONE["width"]
    assert drawer["y"] == 0 and drawer["height"] == PHONE["height"]  # the full height
    page.keyboard.press("Escape")
    expect(sidebar).to_be_hidden()
    expect(toggle).to_be_focused()
    # The backdrop closes it too, and following a link in it.
    toggle.click()
    page.get_by_test_id("drawer-backdrop").click(position={"x": 370, "y": 400})
    expect(sidebar).to_be_hidden()
    toggle.click()
    sidebar.get_by_role("link", name="Lobby").click()
    expect(page.locator("h1")).to_contain_text("Lobby")
    expect(page.get_by_test_id("sidebar")).to_be_hidden()


def test_the_room_list_page_fits_a_small_phone(browser, live_chat_server):
    page = page_at(browser, SMALL_PHONE, live_chat_server, "a_rather_long_username")
    create_room(page, live_chat_server, "everything", LONG_NAME)
    page.goto(f"{live_chat_server.http_url}/")
    expect(page.get_by_test_id("room-list")).to_contain_text(LONG_NAME)
    assert page_width(page) <= SMALL_PHONE["width"]
    page.goto(f"{live_chat_server.http_url}/rooms/everything/")
    expect_online(page)
    assert page_width(page) <= SMALL_PHONE["width"]


def test_on_a_desktop_the_sidebar_stays_beside_the_conversation(
    browser, live_chat_server
):
    page = page_at(browser, DESKTOP, live_chat_server, "ana")
    create_room(page, live_chat_server, "lobby", "Lobby")
    expect(page.get_by_test_id("drawer-toggle")).to_be_hidden()
    expect(page.get_by_test_id("sidebar")).to_be_visible()
    sidebar, messages = box(page, "sidebar"), box(page, "messages")
    assert sidebar["x"] + sidebar["width"] <= messages["x"]
    assert page_width(page) <= DESKTOP["width"]
