"""Hostile input gets a 4xx with a JSON reason from the REST API, never a 500.

NUL bytes in the address, the query or the headers; JSON nested far deeper than any
request needs; a body over the upload limit. Run on PostgreSQL too: it refuses NUL
in a query (the 500 these pin down), where SQLite quietly finds nothing.
"""

import pytest
from rest_framework.authtoken.models import Token

from tests.api.conftest import client_for

pytestmark = pytest.mark.django_db

DEEP = "[" * 100_000 + "]" * 100_000


def assert_json_refusal(response, status: int) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    return body


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/rooms/pla%00za/"),
        ("get", "/api/v1/rooms/%00/messages/"),
        ("post", "/api/v1/rooms/plaza%00/messages/"),
        ("get", "/api/v1/rooms/plaza%00/members/"),
        ("get", "/api/v1/rooms/plaza%00/presence/"),
        ("post", "/api/v1/rooms/plaza%00/join/"),
        ("post", "/api/v1/rooms/plaza%00/read/"),
        ("delete", "/api/v1/messages/1/reactions/%00/"),
        ("get", "/api/v1/search/?q=tom%00"),
        ("get", "/api/v1/search/?q=%00"),
        ("get", "/api/v1/search/?q=tom&room=pla%00za"),
        ("get", "/api/v1/rooms/plaza/messages/?%00=1"),
    ],
)
def test_nul_in_the_address_or_query_is_a_400_with_a_json_detail(world, method, path):
    client = client_for(world["users"]["member"], "token")
    body = assert_json_refusal(getattr(client, method)(path), 400)
    assert body["code"] == "invalid"


def test_nul_in_the_token_is_a_400_with_a_json_detail(world):
    client = client_for(None, "token")
    client.credentials(HTTP_AUTHORIZATION="Token abc\x00def")
    assert_json_refusal(client.get("/api/v1/rooms/"), 400)


def test_nul_in_the_session_cookie_is_a_400_with_a_json_detail(world):
    # A quoted cookie value may spell NUL with an octal escape.
    cookie = 'sessionid="abcdefgh\\000ijkl"'
    response = client_for(None, "session").get("/api/v1/rooms/", HTTP_COOKIE=cookie)
    assert_json_refusal(response, 400)


def test_the_same_requests_without_nul_are_answered(world):
    """The refusal is about the NUL byte alone."""
    client = client_for(world["users"]["member"], "token")
    assert client.get("/api/v1/rooms/plaza/").status_code == 200
    assert client.get("/api/v1/search/", {"q": "tom"}).status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/v1/rooms/"),
        ("patch", "/api/v1/rooms/plaza/"),
        ("post", "/api/v1/rooms/plaza/messages/"),
        ("post", "/api/v1/rooms/plaza/members/"),
        ("post", "/api/v1/rooms/plaza/read/"),
        ("post", "/api/v1/direct/"),
    ],
)
def test_deeply_nested_json_is_a_400_with_a_json_detail(world, method, path):
    client = client_for(world["users"]["owner"], "token")
    response = getattr(client, method)(path, DEEP, content_type="application/json")
    assert_json_refusal(response, 400)


def test_deeply_nested_json_to_the_token_endpoint_is_a_400(world):
    response = client_for(None, "token").post(
        "/api/v1/auth/token/", DEEP, content_type="application/json"
    )
    assert_json_refusal(response, 400)
    assert not Token.objects.exists()


def test_the_token_endpoint_still_reads_json_and_forms(world):
    client = client_for(None, "token")
    credentials = {"username": "member", "password": "pw-for-tests-only"}
    assert client.post("/api/v1/auth/token/", credentials, format="json").json()
    assert client.post("/api/v1/auth/token/", credentials).json()["token"]


def test_a_lone_surrogate_in_json_is_a_400(world):
    client = client_for(world["users"]["member"], "token")
    response = client.post(
        "/api/v1/rooms/plaza/messages/",
        '{"body": "\\ud800", "client_id": "s"}',
        content_type="application/json",
    )
    assert_json_refusal(response, 400)


def test_a_body_over_the_upload_limit_is_a_413_with_a_json_detail(world, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client = client_for(world["users"]["member"], "token")
    body = '{"body": "' + "x" * 2000 + '", "client_id": "big"}'
    response = client.post(
        "/api/v1/rooms/plaza/messages/", body, content_type="application/json"
    )
    assert assert_json_refusal(response, 413)["code"] == "too_large"
