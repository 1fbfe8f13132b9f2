"""Throttling answers 429 with Retry-After, per caller."""

import pytest
from rest_framework.test import APIClient
from rest_framework.throttling import (
    AnonRateThrottle,
    ScopedRateThrottle,
    UserRateThrottle,
)

from tests.api.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def low_rates(monkeypatch):
    rates = {"anon": "3/min", "user": "5/min", "login": "2/min"}
    for throttle in (AnonRateThrottle, UserRateThrottle, ScopedRateThrottle):
        monkeypatch.setattr(throttle, "THROTTLE_RATES", rates)


def test_authenticated_caller_is_throttled_with_retry_after(
    low_rates, ana, bob, general
):
    client = client_for(ana, "token")
    statuses = [client.get("/api/v1/rooms/").status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    response = client.get("/api/v1/rooms/")
    assert int(response["Retry-After"]) > 0
    assert "throttled" in response.json()["detail"].lower()
    # Another user is not affected.
    assert client_for(bob, "token").get("/api/v1/rooms/").status_code == 200


def test_anonymous_callers_are_throttled(low_rates):
    client = APIClient()
    statuses = [client.get("/api/v1/rooms/").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]


def test_token_endpoint_is_throttled_against_password_guessing(low_rates, ana):
    client = APIClient()
    guess = {"username": "ana", "password": "guess"}
    statuses = [client.post("/api/v1/auth/token/", guess).status_code for _ in range(3)]
    assert statuses == [400, 400, 429]


def test_a_rotated_x_forwarded_for_gets_no_fresh_anonymous_bucket(low_rates):
    client = APIClient(REMOTE_ADDR="203.0.113.5")
    statuses = [
        client.get("/api/v1/rooms/", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code
        for n in range(4)
    ]
    assert statuses == [401, 401, 401, 429]


def test_a_rotated_x_forwarded_for_gets_no_fresh_password_guesses(low_rates, ana):
    client = APIClient(REMOTE_ADDR="203.0.113.5")
    guess = {"username": "ana", "password": "guess"}
    statuses = [
        client.post(
            "/api/v1/auth/token/", guess, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}"
        ).status_code
        for n in range(3)
    ]
    assert statuses == [400, 400, 429]


def test_callers_at_different_addresses_have_their_own_buckets(low_rates):
    for address in ("203.0.113.5", "203.0.113.6"):
        client = APIClient(REMOTE_ADDR=address)
        statuses = [client.get("/api/v1/rooms/").status_code for _ in range(3)]
        assert statuses == [401, 401, 401]
