"""GET /api/v1/rooms/{slug}/messages/: the history the web UI pages through."""

import pytest

from chat import services

pytestmark = pytest.mark.django_db


def url(slug="general", **query):
    from urllib.parse import urlencode

    return f"/api/v1/rooms/{slug}/messages/" + (f"?{urlencode(query)}" if query else "")


@pytest.fixture
def history(ana, general):
    return [
        services.message_create(
            room=general, author=ana, body=f"m{i}", client_id=f"c{i}"
        )[0].pk
        for i in range(7)
    ]


def test_newest_first_with_next_link(client, bob, history):
    client.force_login(bob)
    page = client.get(url(limit=3)).json()
    assert [m["id"] for m in page["results"]] == history[::-1][:3]
    assert page["next"].endswith(f"?before={history[4]}&limit=3")
    follow = client.get(page["next"]).json()
    assert [m["id"] for m in follow["results"]] == history[::-1][3:6]


def test_after_is_oldest_first(client, bob, history):
    client.force_login(bob)
    page = client.get(url(after=history[1], limit=2)).json()
    assert [m["id"] for m in page["results"]] == history[2:4]


def test_last_page_has_no_next(client, bob, history):
    client.force_login(bob)
    page = client.get(url(before=history[2])).json()
    assert [m["id"] for m in page["results"]] == [history[1], history[0]]
    assert page["next"] is None


def test_message_objects_match_the_socket_shape(client, bob, history):
    client.force_login(bob)
    message = client.get(url(limit=1)).json()["results"][0]
    assert set(message) == {
        "id",
        "room",
        "author",
        "body",
        "created_at",
        "edited_at",
        "client_id",
    }


@pytest.mark.parametrize(
    "query",
    [
        {"limit": 0},
        {"limit": 201},
        {"limit": "x"},
        {"before": -1},
        {"after": "1.5"},
        {"before": 1, "after": 1},
    ],
)
def test_bad_parameters_are_400_with_a_reason(client, bob, history, query):
    client.force_login(bob)
    response = client.get(url(**query))
    assert response.status_code == 400
    assert response.json()


def test_non_member_gets_403_on_public_and_404_on_private(
    client, carol, general, hideout
):
    client.force_login(carol)
    assert client.get(url("general")).status_code == 403
    assert client.get(url("hideout")).status_code == 404


def test_anonymous_is_refused(client, general):
    assert client.get(url()).status_code == 403
