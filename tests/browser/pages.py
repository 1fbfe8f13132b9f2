"""What a person does on our pages, as Playwright steps shared by browser tests."""

from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from playwright.sync_api import Page, expect

from tests.servers import ChatServer

PASSWORD = "a-Long-passw0rd"

# Desktop and phone: what the web UI is tested at.
WIDTHS = [1280, 390]


def at_width(*pages: Page, width: int) -> None:
    """These pages at desktop (1280x800) or phone (390x844) size."""
    for page in pages:
        page.set_viewport_size({"width": width, "height": 800 if width > 600 else 844})


def sign_up(page: Page, server: ChatServer, username: str) -> None:
    page.goto(f"{server.http_url}/accounts/signup/")
    page.fill("#id_username", username)
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.click("main button[type=submit]")  # not the language switch in the top bar
    expect(page.get_by_test_id("whoami")).to_have_text(username)
    # The page's modules (static/chat/*.js) have run: they run before "load".
    page.wait_for_load_state()


def send_message(page: Page, text: str) -> None:
    page.get_by_test_id("body").fill(text)
    page.get_by_test_id("send").click()


def messages(page: Page):
    return page.locator("[data-testid=messages] li[data-id]")


def off_the_test_thread(function) -> None:
    """Run `function` (database work, the write path) on a thread of its own, its
    connection closed after: Playwright keeps an event loop in the test's thread,
    and a service's broadcast must not run inside it."""

    def run():
        from django.db import connection

        try:
            function()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(run).result()


def post_as(username: str, room_slug: str, bodies: list[str]) -> None:
    """Store messages through the write path, as another client or process would."""

    def post():
        from django.contrib.auth import get_user_model

        from chat import services
        from chat.models import Room

        room = Room.objects.get(slug=room_slug)
        author = get_user_model().objects.get(username=username)
        for index, body in enumerate(bodies):
            services.message_create(
                room=room, author=author, body=body, client_id=f"{body[:50]}-{index}"
            )

    off_the_test_thread(post)


def expect_online(page: Page) -> None:
    expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "online")


@contextmanager
def socket_cut(page: Page):
    """Drop the page's chat socket and refuse its reconnections until the block ends.

    `context.set_offline` does not stop WebSockets in Chromium, so reconnects would
    race the test; a WebSocket route closes every new socket while the cut lasts and
    passes them through to the server afterwards.
    """
    cut = {"active": True}

    def route(socket_route):
        if cut["active"]:
            socket_route.close(code=4000, reason="cut by the test")
        else:
            socket_route.connect_to_server()

    page.route_web_socket("**/ws/chat/", route)
    page.evaluate("window.chatApp.socket.close()")
    expect(page.get_by_test_id("connection")).to_have_attribute(
        "data-state", "offline", timeout=15_000
    )
    try:
        yield
    finally:
        cut["active"] = False


def create_room(
    page: Page, server: ChatServer, slug: str, name: str, *, private: bool = False
) -> None:
    page.goto(f"{server.http_url}/")
    page.fill("#id_slug", slug)
    page.fill("#id_name", name)
    if private:
        page.check("#id_is_private")
    page.click("[data-testid=room-create] button[type=submit]")
    expect(page.locator("h1")).to_contain_text(name)
    page.wait_for_load_state()  # the page's modules have run


def signed_up(browser, server: ChatServer, username: str, **context) -> Page:
    """A page (of a browser context of its own) signed in as a new user, as
    `sign_up` leaves one, made without the form's round trips: the sign-up form's
    own validation, then a session for the user. The form itself is tested in the
    tests that sign up (test_chat_in_browser.py, test_new_room_in_browser.py)."""
    found = {}

    def make():
        from django.conf import settings
        from django.test import Client

        from accounts.forms import SignUpForm

        form = SignUpForm(
            {"username": username, "password1": PASSWORD, "password2": PASSWORD}
        )
        assert form.is_valid(), form.errors
        client = Client()
        client.force_login(form.save())
        found["cookie"] = client.cookies[settings.SESSION_COOKIE_NAME]

    off_the_test_thread(make)
    page = browser.new_context(**context).new_page()
    page.context.add_cookies(
        [
            {
                "name": found["cookie"].key,
                "value": found["cookie"].value,
                "url": server.http_url,
            }
        ]
    )
    return page


def two_people_in_lobby(browser, server: ChatServer, **bob_context) -> tuple:
    """ana owns 'lobby', which bob has joined (through the services, as the pages'
    forms do); both are on the room page, online. `bob_context` goes to bob's
    browser context (accept_downloads...)."""
    ana = signed_up(browser, server, "ana")
    bob = signed_up(browser, server, "bob", **bob_context)

    def lobby():
        from django.contrib.auth import get_user_model

        from chat import services

        users = get_user_model().objects
        room = services.room_create(
            owner=users.get(username="ana"), slug="lobby", name="Lobby"
        )
        services.room_join(user=users.get(username="bob"), room=room)

    off_the_test_thread(lobby)
    for page in (ana, bob):
        page.goto(f"{server.http_url}/rooms/lobby/")
        page.wait_for_load_state()  # the page's modules have run
        expect_online(page)
    return ana, bob


def run_in_module(
    page: Page, server: ChatServer, module: str, script: str, argument=None
):
    """Client logic run in Chromium: `script`, the body of an async function of
    `module` (static/chat/<module>, imported as the page would) and `argument`,
    evaluated in a page of the site; returns what it returns."""
    page.goto(f"{server.http_url}/accounts/login/")
    return page.evaluate(
        "async ([url, script, argument]) => {"
        "  const module = await import(url);"
        "  return await new Function('module', 'argument', script)(module, argument);"
        "}",
        [f"/static/chat/{module}", script, argument],
    )
