"""A socket lives no longer than the session and account that opened it
(chat.socket_credentials): logout, a password change, deactivation by any path and
expiry close it within a second, and nothing it sends after its session ended is
stored."""

import time
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from accounts.models import Session
from chat import services
from chat.models import Message, Reaction
from tests.sockets import open_socket_with_cookie, receive, send, subscribe

pytestmark = pytest.mark.django_db(transaction=True)

User = get_user_model()

# The contract's "within a second", measured from the end of the request that
# ended the session (the sweep runs every CHAT_CREDENTIAL_CHECK_SECONDS, 0.5).
WITHIN = 1.0


@sync_to_async
def signed_in(user) -> Client:
    """A browser signed in as `user`, with a session of its own."""
    client = Client()
    client.force_login(user)
    connection.close()  # this worker thread's connection: nobody else closes it
    return client


async def chat_socket(client: Client):
    socket = await open_socket_with_cookie(
        f"sessionid={client.cookies['sessionid'].value}"
    )
    assert (await receive(socket))["type"] == "hello"
    return socket


@sync_to_async
def in_thread(function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    finally:
        connection.close()


async def ended_with(socket, code: str, close_code: int, *, since: float) -> None:
    """The socket gets the `error` frame, then the close, within WITHIN of `since`."""
    error = await receive(socket, timeout=WITHIN + 1)
    closed = await socket.receive_output(timeout=WITHIN + 1)
    took = time.monotonic() - since
    assert error["type"] == "error" and error["code"] == code, error
    assert closed == {"type": "websocket.close", "code": close_code}
    assert took < WITHIN, f"closed after {took:.2f} s"


async def still_open(socket, room: str, client_id: str) -> None:
    """The socket may still write: a message it sends is stored and acknowledged.
    (Stronger than a pong: every write checks the socket's credential itself.)"""
    await send(
        socket,
        {
            "type": "message.send",
            "room": room,
            "body": "still here",
            "client_id": client_id,
        },
    )
    answer = await receive(socket)
    assert answer["type"] == "message.new", answer
    assert answer["message"]["client_id"] == client_id


async def test_logging_out_closes_that_sessions_sockets_within_a_second(ana, general):
    browser, other_browser = await signed_in(ana), await signed_in(ana)
    socket, other = await chat_socket(browser), await chat_socket(other_browser)
    await subscribe(other, "general")

    await in_thread(browser.post, "/accounts/logout/")
    logged_out_at = time.monotonic()

    await ended_with(socket, "unauthenticated", 4401, since=logged_out_at)
    # Only that session: ana's other browser is still signed in, socket and all.
    await still_open(other, "general", "after-logout")
    await other.disconnect()


async def test_logging_out_through_the_api_closes_the_sessions_sockets(ana):
    browser = await signed_in(ana)
    socket = await chat_socket(browser)

    @sync_to_async
    def api_logout():
        from rest_framework.test import APIClient

        api = APIClient(enforce_csrf_checks=False)
        api.cookies = browser.cookies
        try:
            return api.post("/api/v1/auth/logout/").status_code
        finally:
            connection.close()

    assert await api_logout() == 204
    await ended_with(socket, "unauthenticated", 4401, since=time.monotonic())


async def test_logging_out_through_the_api_with_a_token_revokes_it(ana):
    token = await database_sync_to_async(Token.objects.create)(user=ana)

    @sync_to_async
    def call(path):
        from rest_framework.test import APIClient

        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        try:
            if "logout" in path:
                return api.post(path).status_code
            return api.get(path).status_code
        finally:
            connection.close()

    assert await call("/api/v1/auth/logout/") == 204
    assert await call("/api/v1/rooms/") == 401


@pytest.mark.parametrize("write", ["message", "reaction"])
async def test_nothing_a_socket_sends_after_its_logout_is_stored(
    ana, general, settings, write
):
    # No sweep during the test: only the write's own check can refuse it.
    settings.CHAT_CREDENTIAL_CHECK_SECONDS = 600
    message, _ = await in_thread(
        services.message_create, room=general, author=ana, body="hi", client_id="c0"
    )
    browser = await signed_in(ana)
    socket = await chat_socket(browser)
    await subscribe(socket, "general")
    await in_thread(browser.post, "/accounts/logout/")

    if write == "message":
        frame = {
            "type": "message.send",
            "room": "general",
            "body": "late",
            "client_id": "late",
        }
    else:
        frame = {"type": "reaction.add", "message_id": message.pk, "emoji": "👍"}
    await send(socket, frame)

    error = await receive(socket)
    assert error["code"] == "unauthenticated", error
    assert await socket.receive_output(timeout=1) == {
        "type": "websocket.close",
        "code": 4401,
    }
    assert not await database_sync_to_async(
        Message.objects.filter(client_id="late").exists
    )()
    assert not await database_sync_to_async(Reaction.objects.exists)()


async def test_a_password_change_closes_the_accounts_other_sockets_and_tokens(
    ana, general
):
    token = await database_sync_to_async(Token.objects.create)(user=ana)
    changer, elsewhere = await signed_in(ana), await signed_in(ana)
    socket = await chat_socket(elsewhere)

    @sync_to_async
    def change_password():
        try:
            return changer.post(
                "/accounts/password_change/",
                {
                    "old_password": "pw-for-tests-only",
                    "new_password1": "a-new-pass-for-tests-9",
                    "new_password2": "a-new-pass-for-tests-9",
                },
            )
        finally:
            connection.close()

    response = await change_password()
    assert response.status_code == 302, response.content[:500]
    changed_at = time.monotonic()

    await ended_with(socket, "unauthenticated", 4401, since=changed_at)
    assert not await database_sync_to_async(Token.objects.filter(pk=token.pk).exists)()
    # The session that changed it stays signed in (Django's rule), with a new socket.
    fresh = await chat_socket(changer)
    await subscribe(fresh, "general")
    await still_open(fresh, "general", "after-change")
    await fresh.disconnect()


def deactivate_with_update(user):
    User.objects.filter(pk=user.pk).update(is_active=False)


def deactivate_with_save(user):
    user = User.objects.get(pk=user.pk)
    user.is_active = False
    user.save()


@pytest.mark.parametrize("deactivate", [deactivate_with_update, deactivate_with_save])
async def test_deactivation_by_any_path_closes_sockets_and_ends_sessions_and_tokens(
    ana, deactivate
):
    token = await database_sync_to_async(Token.objects.create)(user=ana)
    browser = await signed_in(ana)
    cookie = f"sessionid={browser.cookies['sessionid'].value}"
    socket = await chat_socket(browser)

    await in_thread(deactivate, ana)
    await ended_with(socket, "account_disabled", 4403, since=time.monotonic())

    # Reactivated, nothing old comes back: not the cookie, not the token.
    await in_thread(lambda: User.objects.filter(pk=ana.pk).update(is_active=True))
    again = await open_socket_with_cookie(cookie)
    assert (await receive(again))["code"] == "unauthenticated"
    await again.disconnect()
    assert not await database_sync_to_async(
        Token.objects.filter(key=token.key).exists
    )()
    assert not await database_sync_to_async(Session.objects.filter(user=ana).exists)()


async def test_a_session_that_expires_closes_its_socket_at_the_next_full_check(
    ana, settings
):
    settings.CHAT_CREDENTIAL_FULL_CHECK_SECONDS = 0  # every check is a full one
    browser = await signed_in(ana)
    socket = await chat_socket(browser)
    await in_thread(
        lambda: Session.objects.filter(
            session_key=browser.cookies["sessionid"].value
        ).update(expire_date=timezone.now() - timedelta(seconds=1))
    )
    await ended_with(socket, "unauthenticated", 4401, since=time.monotonic())


async def test_a_closed_socket_leaves_nothing_to_sweep(ana):
    from chat import socket_credentials

    browser = await signed_in(ana)
    socket = await chat_socket(browser)
    sweep = socket_credentials.sweep()
    assert len(sweep.sockets) == 1 and sweep.task is not None
    await socket.disconnect()
    assert sweep.sockets == {} and sweep.task is None
