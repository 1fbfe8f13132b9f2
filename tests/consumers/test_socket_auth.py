"""Who a socket is (chat.socket_auth): the session cookie's user, under the rules of
Django's own get_user, on whichever database the run uses (PostgreSQL reads the
session and user on the event loop; other databases through Django)."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from accounts.models import Session
from tests.sockets import open_socket_with_cookie, receive, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


async def first_frame(cookie: str) -> dict:
    socket = await open_socket_with_cookie(cookie)
    frame = await receive(socket)
    if frame["type"] == "error":
        assert (await socket.receive_output(timeout=1))["code"] == 4401
    await socket.disconnect()
    return frame


async def test_the_cookies_session_names_the_user(ana):
    frame = await first_frame(f"sessionid={await session_cookie(ana)}")
    assert frame["type"] == "hello"
    assert frame["user"] == {"id": ana.pk, "username": "ana"}


async def test_a_password_change_ends_the_old_sessions_sockets(ana):
    key = await session_cookie(ana)

    def change_password():
        ana.set_password("a-new-password-for-tests")
        ana.save()

    await database_sync_to_async(change_password)()
    frame = await first_frame(f"sessionid={key}")
    assert frame["code"] == "unauthenticated"


async def test_an_expired_session_is_nobody(ana):
    key = await session_cookie(ana)
    await database_sync_to_async(
        lambda: Session.objects.filter(session_key=key).update(
            expire_date=timezone.now() - timedelta(seconds=1)
        )
    )()
    assert (await first_frame(f"sessionid={key}"))["code"] == "unauthenticated"


async def test_an_unknown_session_key_is_nobody(ana):
    frame = await first_frame("sessionid=abcdefghijklmnopqrstuvwxyz012345")
    assert frame["code"] == "unauthenticated"


async def test_a_session_of_a_backend_no_longer_configured_is_nobody(ana, settings):
    key = await session_cookie(ana)
    settings.AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend"]
    assert (await first_frame(f"sessionid={key}"))["code"] == "unauthenticated"


async def test_a_deleted_account_is_nobody(make_user):
    user = await database_sync_to_async(make_user)("leaving")
    key = await session_cookie(user)
    await database_sync_to_async(user.delete)()
    assert (await first_frame(f"sessionid={key}"))["code"] == "unauthenticated"


@pytest.mark.parametrize("row_user", ["another", "none"])
async def test_the_session_data_names_the_user_whatever_its_row_says(
    ana, bob, row_user
):
    # The handshake reads the user joined on the row's user column; where that
    # disagrees with the session's own data (or is empty), the data decides.
    key = await session_cookie(ana)
    row_user_id = bob.pk if row_user == "another" else None
    await database_sync_to_async(
        lambda: Session.objects.filter(session_key=key).update(user_id=row_user_id)
    )()
    frame = await first_frame(f"sessionid={key}")
    assert frame["type"] == "hello"
    assert frame["user"]["id"] == ana.pk


async def test_a_pool_that_cannot_serve_slows_the_handshake_but_does_not_refuse_it(
    ana, postgres, monkeypatch
):
    from psycopg_pool import PoolTimeout

    from chat import loop_clients

    async def no_connection():
        raise PoolTimeout("couldn't get a connection after 3.00 sec")

    key = await session_cookie(ana)
    monkeypatch.setattr(loop_clients, "postgres_pool", no_connection)
    frame = await first_frame(f"sessionid={key}")
    assert frame["type"] == "hello" and frame["user"]["id"] == ana.pk
