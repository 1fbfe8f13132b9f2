"""Repeated failed logins are locked out per username and address, no wider."""

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

WRONG = {"username": "ana", "password": "wrong"}
RIGHT = {"username": "ana", "password": "pw-for-tests-only"}


def login(client: Client, data: dict, address: str = "10.0.0.1"):
    return client.post(reverse("login"), data, REMOTE_ADDR=address)


def test_five_failures_lock_that_username_from_that_address(ana, bob):
    client = Client()
    for _ in range(5):
        assert login(client, WRONG).status_code in (200, 429)
    locked = login(client, RIGHT)
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()
    # Nobody else is locked out: bob from the same address, ana from elsewhere.
    assert (
        login(
            Client(), {"username": "bob", "password": "pw-for-tests-only"}
        ).status_code
        == 302
    )
    assert login(Client(), RIGHT, address="10.0.0.2").status_code == 302


def test_a_success_before_the_limit_resets_the_count(ana):
    client = Client()
    for _ in range(4):
        login(client, WRONG)
    assert login(client, RIGHT).status_code == 302
    for _ in range(4):
        assert login(Client(), WRONG).status_code == 200
    assert login(Client(), RIGHT).status_code == 302


def test_the_token_endpoint_is_protected_the_same_way(ana, settings):
    from rest_framework.test import APIClient

    client = APIClient(REMOTE_ADDR="10.0.0.3")
    assert client.post("/api/v1/auth/token/", RIGHT, format="json").status_code == 200
    for _ in range(5):
        client.post("/api/v1/auth/token/", WRONG, format="json")
    # Locked: even the right password gets no token now (DRF reports it as a 400).
    response = client.post("/api/v1/auth/token/", RIGHT, format="json")
    assert response.status_code in (400, 403, 429)
    assert "token" not in response.json()
    other = APIClient(REMOTE_ADDR="10.0.0.4")
    assert other.post("/api/v1/auth/token/", RIGHT, format="json").status_code == 200


async def _sign_in_through_the_proxy(client: str, data: dict) -> int:
    """POST the login form through the full ASGI application, as nginx on the same
    host would pass it on for `client`; the status code."""
    import re
    from urllib.parse import urlencode

    from channels.testing import HttpCommunicator

    from chatsite.asgi import application

    def through_proxy(method, path, headers=(), body=b""):
        communicator = HttpCommunicator(
            application,
            method,
            path,
            body=body,
            headers=[
                (b"host", b"127.0.0.1"),
                (b"x-forwarded-for", f"127.0.0.1, {client}".encode()),
                *headers,
            ],
        )
        communicator.scope["client"] = ("127.0.0.1", 40000)
        return communicator.get_response(timeout=10)

    page = await through_proxy("GET", reverse("login"))
    cookie = next(v for k, v in page["headers"] if k.lower() == b"set-cookie").split(
        b";"
    )[0]
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page["body"])
    body = urlencode({**data, "csrfmiddlewaretoken": token[1].decode()}).encode()
    form = [
        (b"cookie", cookie),
        (b"content-type", b"application/x-www-form-urlencoded"),
    ]
    return (await through_proxy("POST", reverse("login"), form, body))["status"]


@pytest.mark.django_db(transaction=True)
async def test_behind_a_proxy_the_lockout_counts_per_client_not_per_proxy(
    ana, settings
):
    settings.CHAT_TRUSTED_PROXIES = ["127.0.0.1"]
    for _ in range(5):
        await _sign_in_through_the_proxy("198.51.100.7", WRONG)
    assert await _sign_in_through_the_proxy("198.51.100.7", RIGHT) == 429
    # The same proxy, another client, and the left-most entry forged as loopback:
    # neither shares the locked client's count nor dodges its own.
    assert await _sign_in_through_the_proxy("198.51.100.8", RIGHT) == 302
