"""Hostile input to the web pages gets a 4xx page or a form error, never a 500.

NUL bytes in an address, a search, a form field or the session cookie. Run on
PostgreSQL too: it refuses NUL in a query (the 500 these pin down), where SQLite
quietly finds nothing.
"""

import pytest
from django.contrib.messages import get_messages

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, bob, general):
    client.force_login(bob)
    return client


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/rooms/gen%00eral/"),
        ("get", "/rooms/%00/"),
        ("post", "/rooms/general%00/join/"),
        ("post", "/rooms/general%00/leave/"),
        ("get", "/search/?q=hello%00"),
        ("get", "/search/?q=%00"),
        ("get", "/?next=%00"),
    ],
)
def test_nul_in_the_address_or_query_is_a_400_page(signed_in, method, path):
    response = getattr(signed_in, method)(path)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


def test_nul_in_the_session_cookie_is_a_400_page(client, general):
    response = client.get("/", HTTP_COOKIE='sessionid="abcdefgh\\000ijkl"')
    assert response.status_code == 400


def test_nul_in_the_message_someone_box_is_a_form_error(signed_in, ana):
    response = signed_in.post("/direct/", {"username": "ana\x00"})
    assert response.status_code == 302
    assert [str(message) for message in get_messages(response.wsgi_request)] == [
        "Null characters are not allowed."
    ]


def test_the_message_someone_box_still_opens_a_conversation(signed_in, ana):
    response = signed_in.post("/direct/", {"username": " ana "})
    assert response.status_code == 302
    assert response["Location"].startswith("/rooms/")
