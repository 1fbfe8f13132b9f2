"""GET /api/v1/rooms/{slug}/messages/: the history the web UI pages through."""

import pytest

from chat import services

pytestmark = pytest.mark.django_db


def url(slug="general", **query):
    from urllib.parse import urlencode

    return f"/api/v1/rooms/{slug}/messages/" + (f"?{urlencode(query)}" if query else "")


def ids(page: dict) -> list[int]:
    return [message["id"] for message in page["results"]]


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
        "attachments",
        "reactions",
        "mentions",
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


def test_anonymous_is_refused_with_401(client, general):
    response = client.get(url())
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_empty_room_gives_an_empty_page_without_next(client, bob, general):
    client.force_login(bob)
    page = client.get(url()).json()
    assert page == {"next": None, "previous": None, "results": []}


def test_limit_boundaries_1_and_200_are_accepted(client, bob, history):
    client.force_login(bob)
    assert len(client.get(url(limit=1)).json()["results"]) == 1
    assert len(client.get(url(limit=200)).json()["results"]) == 7


def test_before_zero_and_after_the_newest_are_empty(client, bob, history):
    client.force_login(bob)
    assert client.get(url(before=0)).json()["results"] == []
    assert client.get(url(after=history[-1])).json()["results"] == []


def test_previous_link_of_a_backward_page_returns_newer_messages_newest_first(
    client, bob, history
):
    client.force_login(bob)
    older = client.get(url(before=history[3], limit=2)).json()
    assert ids(older) == [history[2], history[1]]
    newer = client.get(older["previous"]).json()
    assert ids(newer) == [history[4], history[3]]
    # Its links keep that order: on to newer pages, and back to the one we left.
    newest = client.get(newer["previous"]).json()
    assert ids(newest) == [history[6], history[5]]
    assert newest["previous"] is None
    back = client.get(newer["next"]).json()
    assert ids(back) == [history[2], history[1]]


def test_previous_link_of_a_forward_page_returns_older_messages_oldest_first(
    client, bob, history
):
    client.force_login(bob)
    newer = client.get(url(after=history[3], limit=2)).json()
    assert ids(newer) == [history[4], history[5]]
    older = client.get(newer["previous"]).json()
    assert ids(older) == [history[2], history[3]]
    back = client.get(older["next"]).json()
    assert ids(back) == [history[4], history[5]]


def test_paging_from_the_oldest_to_the_newest_by_previous_links_sees_each_once(
    client, bob, history
):
    client.force_login(bob)
    oldest = client.get(url(after=0, limit=3, order="newest")).json()
    assert ids(oldest) == history[2::-1]
    seen = []
    page = oldest
    while True:
        page_ids = ids(page)
        assert page_ids == sorted(page_ids, reverse=True)  # every page newest first
        seen = page_ids + seen
        if page["previous"] is None:
            break
        page = client.get(page["previous"]).json()
    assert seen == history[::-1]


def test_an_unknown_order_is_a_400(client, bob, history):
    client.force_login(bob)
    response = client.get(url(order="sideways"))
    assert response.status_code == 400
    assert "order" in response.json()


def test_paging_back_while_people_chat_has_no_gaps_or_duplicates(
    client, ana, bob, general, history
):
    client.force_login(bob)
    seen = []
    page = client.get(url(limit=2)).json()
    while True:
        seen.extend(m["id"] for m in page["results"])
        # New messages arrive between every page request.
        services.message_create(
            room=general, author=ana, body="new", client_id=f"n{len(seen)}"
        )
        if page["next"] is None:
            break
        page = client.get(page["next"]).json()
    assert seen == history[::-1]


def test_each_page_costs_a_bounded_number_of_queries(
    client, ana, bob, general, django_assert_max_num_queries
):
    for i in range(120):
        services.message_create(room=general, author=ana, body=str(i), client_id=str(i))
    client.force_login(bob)
    # session + user + room with membership + the messages + their reactions +
    # their attachments (+ mentions, when a body holds an '@'), whatever the size
    for limit in (1, 50, 200):
        with django_assert_max_num_queries(6):
            response = client.get(url(limit=limit))
        assert response.status_code == 200


def test_a_private_rooms_page_with_everything_costs_one_query_more_at_most(
    client, ana, bob, hideout, media_root, settings, django_assert_max_num_queries
):
    """Mentions, reactions and attachments each cost one query for the whole page;
    the mention query runs only when a body holds an '@' (tests/unit/test_mentions)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from chat import attachments, reactions
    from tests import files

    for kind in ("SEND", "UPLOAD", "REACTION"):
        setattr(settings, f"CHAT_{kind}_BURST", "1000/10")
        setattr(settings, f"CHAT_{kind}_SUSTAINED", "1000/10")
    services.member_add(room=hideout, actor=ana, user=bob)
    for i in range(30):
        upload = attachments.attachment_upload(
            room=hideout,
            uploader=ana,
            file=SimpleUploadedFile(f"{i}.txt", files.TEXT, "text/plain"),
        )
        message, _ = services.message_create(
            room=hideout,
            author=ana,
            body=f"@bob number {i}",
            client_id=str(i),
            attachment_ids=[upload.pk],
        )
        reactions.reaction_add(message=message, user=bob, emoji="👍")
    client.force_login(bob)
    for limit in (1, 50, 200):
        with django_assert_max_num_queries(7):
            response = client.get(url("hideout", limit=limit))
        first = response.json()["results"][0]
        assert first["mentions"] and first["reactions"] and first["attachments"]


def test_history_queries_are_bounded_by_the_rooms_newest_id(
    client, bob, general, history
):
    """Without the bound PostgreSQL may scan other rooms' newer rows (see
    docs/history-query-plan.md), so both directions carry it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(bob)
    newest = history[-1]
    for query, bound in ((url(), f"< {newest + 1}"), (url(after=0), f"<= {newest}")):
        with CaptureQueriesContext(connection) as queries:
            client.get(query)
        history_sql = [q["sql"] for q in queries if 'FROM "chat_message"' in q["sql"]]
        assert len(history_sql) == 1
        assert f'"chat_message"."id" {bound}' in history_sql[0]
