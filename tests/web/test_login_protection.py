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
