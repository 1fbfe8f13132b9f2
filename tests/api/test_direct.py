"""REST: direct conversations and read markers."""

import pytest

from chat import services
from chat.models import Membership
from tests.api.conftest import client_for

pytestmark = pytest.mark.django_db


def test_post_direct_opens_once_then_finds_it(ana, bob):
    client = client_for(ana, "token")
    first = client.post("/api/v1/direct/", {"username": "bob"}, format="json")
    assert first.status_code == 201
    body = first.json()
    assert body["kind"] == "direct"
    assert body["peer"] == {"id": bob.pk, "username": "bob"}
    again = client_for(bob, "token").post(
        "/api/v1/direct/", {"username": "ana"}, format="json"
    )
    assert again.status_code == 200 and again.json()["slug"] == body["slug"]


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"username": "nobody"}, 404, "not_found"),
        ({"username": "ana"}, 400, "invalid"),
        ({"username": 5}, 400, None),
        ({}, 400, None),
    ],
)
def test_post_direct_refuses_bad_input_with_a_reason(ana, payload, status, code):
    response = client_for(ana, "token").post("/api/v1/direct/", payload, format="json")
    assert response.status_code == status
    if code:
        assert response.json()["code"] == code


def test_get_direct_lists_my_conversations_with_unread_counts(ana, bob, carol):
    room, _ = services.direct_open(user=bob, other=ana)
    services.direct_open(user=bob, other=carol)
    services.message_create(room=room, author=bob, body="psst", client_id="1")
    listed = client_for(ana, "token").get("/api/v1/direct/").json()
    assert listed == [
        {
            "slug": room.slug,
            "name": room.name,
            "kind": "direct",
            "is_private": True,
            "last_message_id": room.messages.get().pk,
            "unread_count": 1,
            "peer": {"id": bob.pk, "username": "bob"},
        }
    ]
    rooms = client_for(ana, "token").get("/api/v1/rooms/").json()
    assert room.slug not in {r["slug"] for r in rooms}


def test_history_and_posting_work_in_a_conversation(ana, bob, carol):
    room, _ = services.direct_open(user=ana, other=bob)
    ana_client = client_for(ana, "token")
    sent = ana_client.post(
        f"/api/v1/rooms/{room.slug}/messages/",
        {"body": "hello bob", "client_id": "c1"},
        format="json",
    )
    assert sent.status_code == 201
    history = client_for(bob, "token").get(f"/api/v1/rooms/{room.slug}/messages/")
    assert [m["body"] for m in history.json()["results"]] == ["hello bob"]
    outsider = client_for(carol, "token")
    assert outsider.get(f"/api/v1/rooms/{room.slug}/messages/").status_code == 404


def test_read_moves_the_marker_forward_only(ana, bob, general):
    messages = [
        services.message_create(
            room=general, author=ana, body=f"{i}", client_id=f"{i}"
        )[0]
        for i in range(3)
    ]
    client = client_for(bob, "token")
    url = "/api/v1/rooms/general/read/"
    assert (
        client.post(url, {"last_id": messages[1].pk}, format="json").status_code == 204
    )
    assert (
        client.post(url, {"last_id": messages[0].pk}, format="json").status_code == 204
    )
    marker = Membership.objects.get(room=general, user=bob).last_read_id
    assert marker == messages[1].pk
    rooms = {r["slug"]: r for r in client.get("/api/v1/rooms/").json()}
    assert rooms["general"]["unread_count"] == 1
    assert client.post(url, {"last_id": -1}, format="json").status_code == 400
