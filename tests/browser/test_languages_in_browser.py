"""A Chinese-speaking person and an English-speaking one chat in real Chromium: the
UI follows the browser's language or the switch, and rooms and messages in any
script go through live and come back from history unchanged."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.pages import (
    PASSWORD,
    expect_online,
    messages,
    send_message,
)

pytestmark = [pytest.mark.browser, pytest.mark.processes]

ROOM_SLUG = "茶馆"
ROOM_NAME = "老舍茶馆 🍵"
CHINESE = "你好，大家好！今天喝什么茶？"
ARABIC = "مرحبا، أنا بوب"
EMOJI = "🎉👨‍👩‍👧 干杯 🥂"


def sign_up_in_chinese(page: Page, server, username: str) -> None:
    page.goto(f"{server.http_url}/accounts/signup/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("h1")).to_have_text("注册")
    page.fill("#id_username", username)
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.get_by_role("button", name="创建账号").click()
    expect(page.get_by_test_id("whoami")).to_have_text(username)


def test_a_chinese_speaker_and_an_english_speaker_chat_in_any_script(
    browser, live_chat_server
):
    server = live_chat_server
    # Chromium sends Accept-Language: zh-CN for this context.
    li = browser.new_context(locale="zh-CN").new_page()
    bob = browser.new_context(locale="en-US").new_page()

    sign_up_in_chinese(li, server, "li")
    expect(li.locator("h1")).to_have_text("房间")
    li.fill("#id_slug", ROOM_SLUG)
    li.fill("#id_name", ROOM_NAME)
    li.get_by_role("button", name="创建", exact=True).click()
    expect(li.locator("h1")).to_contain_text(ROOM_NAME)
    expect(li.locator("h1 .slug")).to_have_text(f"#{ROOM_SLUG}")
    # room.js speaks Chinese too, through the JavaScript catalog.
    expect_online(li)
    expect(li.get_by_test_id("connection")).to_have_text("在线")
    expect(li.get_by_test_id("send")).to_have_text("发送")
    expect(li.get_by_test_id("body")).to_have_attribute("placeholder", "输入消息")

    # bob's browser is English; he switches to Chinese in the top bar.
    bob.goto(f"{server.http_url}/accounts/signup/")
    expect(bob.locator("h1")).to_have_text("Sign up")
    bob.fill("#id_username", "bob")
    bob.fill("#id_password1", PASSWORD)
    bob.fill("#id_password2", PASSWORD)
    bob.get_by_role("button", name="Create account").click()
    expect(bob.locator("h1")).to_have_text("Rooms")
    bob.get_by_test_id("language-zh-hans").click()
    expect(bob.locator("h1")).to_have_text("房间")
    bob.reload()
    expect(bob.locator("h1")).to_have_text("房间")  # it sticks
    bob.get_by_test_id(f"join-{ROOM_SLUG}").click()
    expect(bob.locator("h1")).to_contain_text(ROOM_NAME)
    expect_online(bob)
    expect(bob.get_by_test_id("connection")).to_have_text("在线")

    send_message(li, CHINESE)
    expect(messages(bob).last.locator(".body")).to_have_text(CHINESE)
    # The buttons room.js builds for a message are in Chinese as well.
    own = messages(li).last
    expect(own.get_by_test_id("edit")).to_have_text("编辑")
    expect(own.get_by_test_id("edit")).to_have_attribute("title", "编辑这条消息")
    expect(own.get_by_test_id("add-reaction")).to_have_attribute("title", "添加回应")
    send_message(bob, ARABIC)
    send_message(bob, EMOJI)
    expect(messages(li).last.locator(".body")).to_have_text(EMOJI)
    expect(messages(li).nth(1).locator(".body")).to_have_text(ARABIC)

    # History over REST brings back the same text after a reload.
    li.reload()
    expect(messages(li)).to_have_count(3)
    expect(messages(li).locator(".body")).to_have_text([CHINESE, ARABIC, EMOJI])

    # And back to English with the switch: server and room.js strings follow.
    bob.get_by_test_id("language-en").click()
    expect(bob.get_by_test_id("send")).to_have_text("Send")
    expect_online(bob)
    expect(bob.get_by_test_id("connection")).to_have_text("online")
    expect(messages(bob).locator(".body")).to_have_text([CHINESE, ARABIC, EMOJI])


def test_the_room_page_works_in_english_when_the_catalog_fails_to_load(
    browser, live_chat_server
):
    page = browser.new_context(locale="zh-CN").new_page()
    page.route("**/jsi18n/", lambda route: route.abort())
    sign_up_in_chinese(page, live_chat_server, "li")
    page.fill("#id_slug", "fallback")
    page.fill("#id_name", "Fallback")
    page.get_by_role("button", name="创建", exact=True).click()
    expect_online(page)
    expect(page.get_by_test_id("connection")).to_have_text("online")
    send_message(page, "仍然可以发送")
    expect(messages(page).last.locator(".body")).to_have_text("仍然可以发送")
