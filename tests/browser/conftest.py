"""A live server and Playwright driving Debian's Chromium (never a downloaded
browser)."""

import os

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


@pytest.fixture(scope="module")
def module_chromium(chromium_path):
    """One Chromium per test module (launching one per test cost about 0.7 s each);
    every test gets fresh browser contexts from it (`browser`), closed after it."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread while it runs; Django
    # would then refuse the tests' own (plain, synchronous) database calls.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
            )
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def browser(module_chromium):
    """The module's Chromium; whatever contexts (and so pages and sockets) the
    test opened are closed when it ends, as if the browser had been."""
    yield module_chromium
    for context in module_chromium.contexts:
        context.close()


@pytest.fixture
def two_people(browser, live_chat_server):
    """ana creates 'lobby'; bob signs up and joins it; both are on the room page."""
    return two_people_in_lobby(browser, live_chat_server)
