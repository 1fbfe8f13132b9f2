"""A socket follows its session and account on every server process: logout and a
plain ORM deactivation close the sockets of two servers within a second."""

import asyncio
import time

import pytest
import websockets
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

from tests.servers import next_frame, websocket_for

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]


@sync_to_async
def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    connection.close()
    return client


@sync_to_async
def in_thread(function):
    try:
        return function()
    finally:
        connection.close()


async def all_end_with(sockets, code: str, close_code: int, started: float) -> None:
    for socket in sockets:
        error = await next_frame(socket, "error", timeout=1.5)
        assert error["code"] == code
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), 1)
        assert closed.value.rcvd.code == close_code
    assert time.monotonic() - started < 1


async def test_logout_closes_the_sessions_sockets_on_every_server(two_servers, bob):
    browser = await signed_in(bob)
    cookie = browser.cookies["sessionid"].value
    sockets = [await websocket_for(server, cookie) for server in two_servers]
    await in_thread(lambda: browser.post("/accounts/logout/"))
    await all_end_with(sockets, "unauthenticated", 4401, time.monotonic())


async def test_a_plain_orm_deactivation_closes_sockets_on_every_server(
    two_servers, bob
):
    browser = await signed_in(bob)
    cookie = browser.cookies["sessionid"].value
    sockets = [await websocket_for(server, cookie) for server in two_servers]
    await in_thread(
        lambda: get_user_model().objects.filter(pk=bob.pk).update(is_active=False)
    )
    await all_end_with(sockets, "account_disabled", 4403, time.monotonic())
