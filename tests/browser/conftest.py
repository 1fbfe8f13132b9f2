"""A live server and Playwright driving Debian's Chromium (never a downloaded
browser)."""

import pytest

from tests.browser.pages import two_people_in_lobby
from tests.servers import ChatServer

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def live_chat_server(transactional_db):
    server = ChatServer().start()
    yield server
    server.stop()


@pytest.fixture
def browser(chromium_path, monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; Django would then
    # refuse the test's own (plain, synchronous) database calls.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def two_people(browser, live_chat_server):
    """ana creates 'lobby'; bob signs up and joins it; both are on the room page."""
    return two_people_in_lobby(browser, live_chat_server)
