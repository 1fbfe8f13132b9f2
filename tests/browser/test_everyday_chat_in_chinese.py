"""The issue's acceptance, end to end: two people whose browsers speak Chinese hold a
conversation with mentions, reactions, an edit, search and a direct message, all in
the Chinese UI and in Chinese text."""

import pytest
from playwright.sync_api import expect

from tests.browser.pages import create_room, expect_online, messages, send_message
from tests.browser.test_languages_in_browser import sign_up_in_chinese

pytestmark = [pytest.mark.browser, pytest.mark.processes]


def test_a_conversation_with_every_everyday_feature_in_chinese(
    browser, live_chat_server
):
    server = live_chat_server
    li = browser.new_context(locale="zh-CN").new_page()
    wang = browser.new_context(locale="zh-CN").new_page()
    sign_up_in_chinese(li, server, "li")
    create_room(li, server, "茶馆", "老舍茶馆")
    sign_up_in_chinese(wang, server, "wang")
    wang.get_by_test_id("join-茶馆").click()
    expect_online(li)
    expect_online(wang)
    expect(wang.get_by_test_id("sidebar").locator("h2").first).to_have_text("房间")

    # A mention: li is told and the name is highlighted.
    send_message(wang, "@li 明天下午三点见面吗？")
    expect(messages(li)).to_have_count(1)
    expect(messages(li).first.locator(".mention.me")).to_have_text("@li")

    # A reaction, counted on both pages.
    li_message = messages(li).first
    li_message.get_by_test_id("add-reaction").click()
    li_message.get_by_test_id("reaction-palette").locator("[data-emoji='👍']").click()
    expect(messages(wang).first.get_by_test_id("reaction")).to_have_text("👍 1")

    # An edit, in the Chinese UI, marked as edited for the other person.
    wang_message = messages(wang).first
    expect(wang_message.get_by_test_id("edit")).to_have_text("编辑")
    wang_message.get_by_test_id("edit").click()
    wang_message.get_by_test_id("edit-field").fill("@li 明天下午四点见面吗？")
    wang_message.get_by_test_id("edit-field").press("Enter")
    expect(messages(li).first.locator(".body")).to_contain_text("四点")
    expect(messages(li).first.locator(".edited")).to_be_visible()

    # Search by Chinese words written without spaces.
    li.get_by_test_id("search-input").fill("四点")
    li.get_by_test_id("search-submit").click()
    results = li.get_by_test_id("search-result")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("明天下午四点见面吗")

    # A direct message from the author's name; wang's sidebar counts it live.
    li.goto(f"{server.http_url}/rooms/茶馆/")
    expect_online(li)
    messages(li).first.get_by_test_id("author").click()
    expect(li.get_by_test_id("direct-title")).to_have_text("@wang 私信")
    expect_online(li)
    send_message(li, "私下说一句：谢谢！")
    slug = li.evaluate("document.getElementById('chat').dataset.room")
    expect(wang.get_by_test_id(f"unread-{slug}")).to_have_text("1")
    wang.get_by_test_id("direct-list").get_by_role("link", name="@li").click()
    expect(messages(wang).first).to_contain_text("私下说一句：谢谢！")
