"""The emoji picker in real Chromium (static/chat/emoji.js, emoji-picker-element
from static/vendor/): an emoji found by name goes into the composer at the caret,
or onto a message as a reaction; it speaks the page's language, stays inside a
phone's width, and closes with Escape, giving focus back."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.browser.pages import (
    expect_online,
    messages,
    run_in_module,
    send_message,
    two_people_in_lobby,
)

pytestmark = [pytest.mark.browser, pytest.mark.processes]


def test_the_picker_speaks_the_page_language_and_inserts_at_the_caret(
    browser, live_chat_server
):
    page = browser.new_page()
    result = run_in_module(
        page,
        live_chat_server,
        "emoji.js",
        "return {"
        "  languages: ['en-us', 'zh-hans', 'zh', 'ZH-CN', '', undefined, 'fr']"
        "    .map((lang) => module.pickerLanguage(lang).locale),"
        "  zh: module.pickerLanguage('zh-hans'),"
        "  inserted: ["
        "    module.insertAt('hello', 5, 5, '👍'),"
        "    module.insertAt('hello', 0, 0, '👍'),"
        "    module.insertAt('hello', 1, 4, '👍'),"  # replaces the selection
        "    module.insertAt('hi', null, null, '🎉'),"
        "    module.insertAt('hi', 9, 9, '🎉'),"
        "  ],"
        "};",
    )
    assert result["languages"] == ["en", "zh", "zh", "zh", "en", "en", "en"]
    assert result["zh"] == {
        "locale": "zh",
        "dataSource": "emoji-picker-element-data/zh/data.json",
        "i18n": "emoji-picker-element/i18n/zh_CN.js",
    }
    assert result["inserted"] == [
        {"value": "hello👍", "caret": 7},
        {"value": "👍hello", "caret": 2},
        {"value": "h👍o", "caret": 3},
        {"value": "hi🎉", "caret": 4},
        {"value": "hi🎉", "caret": 4},
    ]


@pytest.fixture
def ana_and_bob(browser, live_chat_server):
    return two_people_in_lobby(browser, live_chat_server)


@pytest.mark.parametrize("width", [1280, 390])
def test_an_emoji_found_by_name_goes_in_at_the_caret(ana_and_bob, width):
    ana, bob = ana_and_bob
    ana.set_viewport_size({"width": width, "height": 800})
    expect_online(ana)
    body = ana.get_by_test_id("body")
    body.fill("nice work")
    body.press("Home")
    for _ in range(4):
        body.press("ArrowRight")  # the caret after "nice"

    ana.get_by_test_id("emoji").click()
    popover = ana.get_by_test_id("emoji-popover")
    expect(popover).to_be_visible()
    expect(ana.get_by_test_id("emoji")).to_have_attribute("aria-expanded", "true")
    # The picker opens on its search box, inside the window.
    search = popover.locator("#search")
    expect(search).to_be_focused()
    box = popover.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width
    search.fill("thumbs up")
    popover.get_by_role("option").first.click()

    expect(popover).to_be_hidden()
    # As the picker's data writes it, with the emoji presentation selector.
    expect(body).to_have_value("nice👍\ufe0f work")
    expect(body).to_be_focused()
    caret = body.evaluate("(input) => input.selectionStart")
    assert caret == len("nice") + 3  # 👍 is two UTF-16 code units, U+FE0F one
    ana.get_by_test_id("send").click()
    expect(messages(bob).last.locator(".body")).to_have_text("nice👍\ufe0f work")


def test_escape_closes_the_picker_and_gives_focus_back(ana_and_bob):
    ana, _ = ana_and_bob
    ana.get_by_test_id("emoji").click()
    popover = ana.get_by_test_id("emoji-popover")
    expect(popover.locator("#search")).to_be_focused()
    ana.keyboard.press("Escape")
    expect(popover).to_be_hidden()
    expect(ana.get_by_test_id("emoji")).to_have_attribute("aria-expanded", "false")
    expect(ana.get_by_test_id("body")).to_be_focused()
    # A click elsewhere closes it too.
    ana.get_by_test_id("emoji").click()
    expect(popover).to_be_visible()
    ana.locator("#moderation h2").click()
    expect(popover).to_be_hidden()


def test_any_emoji_can_be_a_reaction_through_the_picker(ana_and_bob):
    ana, bob = ana_and_bob
    send_message(ana, "launch day")
    message = messages(bob).last
    expect(message).to_be_visible()
    message.hover()
    message.get_by_test_id("add-reaction").click()
    message.get_by_test_id("palette-more").click()
    popover = bob.get_by_test_id("emoji-popover")
    popover.locator("#search").fill("rocket")
    rocket = popover.locator("[role=option][aria-label^='🚀,']")
    expect(rocket).to_be_in_viewport()
    rocket.click()
    expect(popover).to_be_hidden()
    for page in (ana, bob):
        expect(messages(page).last.get_by_test_id("reaction")).to_have_text("🚀 1")


def test_the_picker_searches_in_chinese_on_a_chinese_page(browser, live_chat_server):
    ana, _ = two_people_in_lobby(browser, live_chat_server)
    ana.get_by_test_id("language-zh-hans").click()
    expect(ana.locator("html")).to_have_attribute("lang", "zh-hans")
    expect_online(ana)
    ana.get_by_test_id("emoji").click()
    search = ana.get_by_test_id("emoji-popover").locator("#search")
    expect(search).to_have_attribute("placeholder", "搜索")
    search.fill("火箭")
    option = ana.get_by_test_id("emoji-popover").locator(
        "[role=option][aria-label^='🚀,']"
    )
    expect(option).to_have_attribute("aria-label", re.compile(r"^🚀, 火箭"))
    option.click()
    expect(ana.get_by_test_id("body")).to_have_value("🚀")


def test_the_picker_works_from_the_keyboard_and_passes_axe(ana_and_bob):
    ana, bob = ana_and_bob
    body = ana.get_by_test_id("body")
    body.focus()
    ana.keyboard.press("Shift+Tab")  # from the message box back to the emoji button
    expect(ana.get_by_test_id("emoji")).to_be_focused()
    ana.keyboard.press("Enter")
    popover = ana.get_by_test_id("emoji-popover")
    expect(popover.locator("#search")).to_be_focused()
    results = Axe().run(ana).response
    serious = [
        violation["id"]
        for violation in results["violations"]
        if violation["impact"] in {"serious", "critical"}
    ]
    assert serious == []
    ana.keyboard.type("party popper")
    # The search runs as one types: wait until it has found for the whole name.
    expect(popover.get_by_role("option").first).to_have_attribute(
        "aria-label", re.compile("^🎉,")
    )
    ana.keyboard.press("ArrowDown")  # the first result
    ana.keyboard.press("Enter")
    expect(popover).to_be_hidden()
    expect(body).to_be_focused()
    expect(body).to_have_value("🎉")
    ana.keyboard.press("Enter")
    expect(messages(bob).last.locator(".body")).to_have_text("🎉")
