"""Creating a room in the browser: the address suggested from the name
(static/chat/room_form.js, its slugify run in Chromium too), a person's own address
kept, an address the server would refuse (its characters, or taken) said under the
field as it is typed and stopped in the form, and the new room saying what to do
until its first message."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.pages import (
    create_room,
    expect_online,
    run_in_module,
    send_message,
    sign_up,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_slugify_makes_addresses_the_server_accepts(browser, live_chat_server):
    slugs = run_in_module(
        browser.new_page(),
        live_chat_server,
        "room_form.js",
        "return argument.map(module.slugify);",
        [
            "Team Chat 2026",
            "  --Rust & Go!!  ",
            "项目 讨论",
            "Ｆｕｌｌ　Ｗｉｄｔｈ",
            "snake_case stays",
            "x" * 70 + " tail",
        ],
    )
    assert slugs == [
        "team-chat-2026",
        "rust-go",
        "项目-讨论",
        "full-width",
        "snake_case-stays",
        "x" * 64,
    ]


def test_the_address_follows_the_name_until_it_is_edited(browser, live_chat_server):
    page = browser.new_page()
    sign_up(page, live_chat_server, "ana")
    page.locator("#id_name").press_sequentially("Team Chat")
    expect(page.locator("#id_slug")).to_have_value("team-chat")
    page.locator("#id_slug").fill("our-team")
    page.locator("#id_name").fill("Team Chat room")
    expect(page.locator("#id_slug")).to_have_value("our-team")
    page.click("[data-testid=room-create] button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Team Chat room")
    expect(page.locator("h1 .slug")).to_have_text("#our-team")


def test_an_address_the_server_would_refuse_is_stopped_in_the_form(
    browser, live_chat_server
):
    page = browser.new_page()
    sign_up(page, live_chat_server, "ana")
    page.locator("#id_name").fill("Lobby")
    page.locator("#id_slug").fill("no spaces!")
    page.click("[data-testid=room-create] button[type=submit]")
    assert page.evaluate("document.getElementById('id_slug').validity.patternMismatch")
    expect(page.locator("h1")).to_have_text("Rooms")  # not submitted
    page.locator("#id_slug").fill("大厅_1")
    page.click("[data-testid=room-create] button[type=submit]")
    expect(page.locator("h1 .slug")).to_have_text("#大厅_1")


def test_a_new_room_says_what_to_do_until_its_first_message(browser, live_chat_server):
    page = browser.new_page()
    sign_up(page, live_chat_server, "ana")
    create_room(page, live_chat_server, "lobby", "Lobby")
    expect_online(page)
    expect(page.get_by_test_id("empty-room")).to_be_visible()
    send_message(page, "first!")
    expect(page.get_by_test_id("empty-room")).to_be_hidden()
    page.reload()  # a room with history does not say it
    expect(page.get_by_test_id("messages")).to_contain_text("first!")
    expect(page.get_by_test_id("empty-room")).to_be_hidden()


def test_slug_problem_names_only_characters_the_server_refuses(
    browser, live_chat_server
):
    problems = run_in_module(
        browser.new_page(),
        live_chat_server,
        "room_form.js",
        "return argument.map(module.slugProblem);",
        ["", "lobby", "大厅_1", "a-b_c", "no spaces", "semi;colon", "ok!"],
    )
    assert problems[:4] == [None, None, None, None]
    assert problems[4:] == ["Use only letters, digits, - and _ (no spaces)."] * 3


@pytest.mark.parametrize("width", [1280, 390])
def test_the_address_is_checked_as_it_is_typed(browser, live_chat_server, width):
    page = browser.new_page(viewport={"width": width, "height": 800})
    sign_up(page, live_chat_server, "ana")
    create_room(page, live_chat_server, "lobby", "Lobby")
    page.goto(f"{live_chat_server.http_url}/")
    slug = page.locator("#id_slug")
    problem = page.get_by_test_id("slug-problem")
    expect(problem).to_be_hidden()

    slug.fill("no spaces")
    expect(problem).to_have_text("Use only letters, digits, - and _ (no spaces).")
    expect(slug).to_have_attribute("aria-invalid", "true")
    described_by = re.compile(r"\bid_slug_problem\b")
    expect(slug).to_have_attribute("aria-describedby", described_by)
    expect(problem).to_be_in_viewport()

    # Suggested from the name: the address of an existing room is taken.
    page.locator("#id_name").fill("")
    slug.fill("")
    page.locator("#id_name").press_sequentially("Lobby")
    expect(slug).to_have_value("lobby")
    expect(problem).to_have_text("#lobby is taken: choose another address.")
    page.click("[data-testid=room-create] button[type=submit]")
    expect(page.locator("h1")).to_have_text("Rooms")  # held back in the form

    slug.fill("lobby-2")
    expect(problem).to_be_hidden()
    expect(slug).not_to_have_attribute("aria-invalid", "true")
    page.click("[data-testid=room-create] button[type=submit]")
    expect(page.locator("h1 .slug")).to_have_text("#lobby-2")
