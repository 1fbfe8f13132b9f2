"""Token authentication beside the session."""

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_token_is_issued_for_good_credentials_and_works(ana, general):
    client = APIClient()
    response = client.post(
        "/api/v1/auth/token/",
        {"username": "ana", "password": "pw-for-tests-only"},
        format="json",
    )
    assert response.status_code == 200
    token = response.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/rooms/").status_code == 200


def test_bad_credentials_get_400_and_no_token(ana):
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "ana", "password": "wrong"}, format="json"
    )
    assert response.status_code == 400
    assert "token" not in response.json()


def test_a_wrong_token_is_401(general):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get("/api/v1/rooms/").status_code == 401


def test_inactive_users_get_no_token(make_user):
    make_user("gone", is_active=False)
    response = APIClient().post(
        "/api/v1/auth/token/",
        {"username": "gone", "password": "pw-for-tests-only"},
        format="json",
    )
    assert response.status_code == 400
