"""GET /api/v1/search/: the caller's rooms only, never deleted messages, newest first
and paged by id, on PostgreSQL's full-text index or SQLite's substring fallback."""

import pytest
from django.db import connection

from chat import search, services
from chat.models import Message
from tests.api.conftest import client_for

pytestmark = pytest.mark.django_db

URL = "/api/v1/search/"


@pytest.fixture
def sqlite(monkeypatch):
    """The fallback for databases without full-text search: on SQLite as it is, on
    PostgreSQL by turning full-text search off, so that CI pins it too."""
    if connection.vendor != "sqlite":
        monkeypatch.setattr(search, "full_text_available", lambda: False)


def post(room, author, body, client_id=None):
    message, _ = services.message_create(
        room=room, author=author, body=body, client_id=client_id or body[:64]
    )
    return message


def found(client, **query) -> list[str]:
    response = client.get(URL, query)
    assert response.status_code == 200, response.json()
    return [result["body"] for result in response.json()["results"]]


@pytest.fixture
def rooms(ana, bob, carol, general, hideout):
    """bob is in general; ana also in hideout (private); carol owns plaza (public),
    which bob has not joined."""
    plaza = services.room_create(owner=carol, slug="plaza", name="Plaza")
    post(general, ana, "lunch in general")
    post(hideout, ana, "lunch in the hideout")
    post(plaza, carol, "lunch on the plaza")
    return {"general": general, "hideout": hideout, "plaza": plaza}


def test_search_finds_only_messages_of_the_callers_rooms(bob, ana, rooms):
    assert found(client_for(bob, "token"), q="lunch") == ["lunch in general"]
    assert found(client_for(ana, "token"), q="lunch") == [
        "lunch in the hideout",
        "lunch in general",
    ]


def test_staff_see_no_more_than_their_own_rooms(make_user, rooms):
    staff = make_user("root", is_staff=True)
    assert found(client_for(staff, "token"), q="lunch") == []


def test_deleted_messages_are_never_found(ana, bob, general):
    message = post(general, ana, "secret plan")
    services.message_delete(message=message, actor=ana)
    assert found(client_for(bob, "token"), q="secret") == []


def test_every_term_is_required_in_any_case(ana, bob, general):
    post(general, ana, "Pizza tonight?")
    post(general, ana, "pizza was yesterday")
    assert found(client_for(bob, "token"), q="PIZZA tonight") == ["Pizza tonight?"]


def test_results_carry_the_message_object_and_the_room_name(ana, bob, general):
    message = post(general, ana, "hello @bob")
    [result] = client_for(bob, "token").get(URL, {"q": "hello"}).json()["results"]
    assert result["id"] == message.pk
    assert result["room"] == "general"
    assert result["room_name"] == "General"
    assert result["author"] == {"id": ana.pk, "username": "ana"}
    assert result["mentions"] == [{"id": bob.pk, "username": "bob"}]


def test_pages_go_from_newest_to_oldest_through_next_links(ana, bob, general):
    bodies = [f"report {i}" for i in range(7)]
    for body in bodies:
        post(general, ana, body)
    post(general, ana, "unrelated")
    client = client_for(bob, "token")
    page = client.get(URL, {"q": "report", "limit": 3}).json()
    seen = []
    while True:
        seen += [result["body"] for result in page["results"]]
        if page["next"] is None:
            break
        assert "q=report" in page["next"] and "limit=3" in page["next"]
        page = client.get(page["next"]).json()
    assert seen == bodies[::-1]


def test_room_narrows_the_search_and_stays_in_next_links(ana, bob, general, hideout):
    post(general, ana, "note one")
    post(general, ana, "note two")
    post(hideout, ana, "note three")
    client = client_for(ana, "token")
    page = client.get(URL, {"q": "note", "room": "general", "limit": 1}).json()
    assert [r["body"] for r in page["results"]] == ["note two"]
    assert "room=general" in page["next"]
    assert [r["body"] for r in client.get(page["next"]).json()["results"]] == [
        "note one"
    ]


@pytest.mark.parametrize(
    ("room", "status", "code"),
    [("hideout", 404, "room_not_found"), ("nowhere", 404, "room_not_found")],
)
def test_a_room_the_caller_cannot_see_is_a_404(bob, hideout, room, status, code):
    response = client_for(bob, "token").get(URL, {"q": "x", "room": room})
    assert (response.status_code, response.json()["code"]) == (status, code)


def test_a_public_room_the_caller_has_not_joined_is_a_403(bob, rooms):
    response = client_for(bob, "token").get(URL, {"q": "lunch", "room": "plaza"})
    assert (response.status_code, response.json()["code"]) == (403, "not_member")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({}, "code"),
        ({"q": ""}, "code"),
        ({"q": "   "}, "code"),
        ({"q": "x" * 201}, "code"),
        ({"q": "x", "limit": 0}, "limit"),
        ({"q": "x", "limit": 101}, "limit"),
        ({"q": "x", "before": "-1"}, "before"),
    ],
)
def test_bad_queries_are_a_400_with_the_reason(bob, general, query, field):
    response = client_for(bob, "token").get(URL, query)
    assert response.status_code == 400
    body = response.json()
    assert field in body
    if field == "code":
        assert body["code"] == "invalid_query"
        assert body["detail"]


def test_search_needs_authentication(general):
    assert client_for(None, "token").get(URL, {"q": "x"}).status_code == 401


def test_chinese_text_is_found_by_substring(ana, bob, general):
    post(general, ana, "我们今天中午吃饭了吗")
    post(general, ana, "明天见 see you")
    client = client_for(bob, "token")
    assert found(client, q="吃饭") == ["我们今天中午吃饭了吗"]
    assert found(client, q="明天 see") == ["明天见 see you"]
    assert found(client, q="吃饭 see") == []


def test_postgres_matches_whole_words_and_ignores_punctuation(
    postgres, ana, bob, general
):
    post(general, ana, "Hello, world!")
    client = client_for(bob, "token")
    assert found(client, q="hello") == ["Hello, world!"]
    assert found(client, q="world.") == ["Hello, world!"]
    assert found(client, q="hel") == []  # words, not fragments


def test_postgres_search_uses_the_full_text_index(postgres, ana, bob, general):
    for i in range(50):
        post(general, ana, f"filler message {i}")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE chat_message")
        # Tiny tables make any plan cheap: rule out the alternatives to the index.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
    plan = (
        Message.objects.filter(deleted_at__isnull=True)
        .alias(body_vector=search.MessageBodyVector())
        .filter(body_vector=search.SearchQuery("needle", config="simple"))
        .explain()
    )
    assert "message_body_search_idx" in plan
    # And the search itself runs that expression.
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        search.message_search(user=bob, query="needle", limit=5)
    assert (
        'to_tsvector(\'simple\'::regconfig, "chat_message"."body")'
        in (queries[0]["sql"])
    )


def test_sqlite_matches_substrings_of_every_term(sqlite, ana, bob, general):
    post(general, ana, "Hello, world!")
    client = client_for(bob, "token")
    assert found(client, q="HEL orl") == ["Hello, world!"]
    assert found(client, q="hel xyz") == []


def test_highlight_marks_whole_words_with_full_text_search(postgres):
    assert search.search_highlight("Hello, hello world", "hello") == [
        ("Hello", True),
        (", ", False),
        ("hello", True),
        (" world", False),
    ]
    assert search.search_highlight("othello", "hello") == [("othello", False)]
    assert search.search_highlight("今天吃饭", "吃饭") == [
        ("今天", False),
        ("吃饭", True),
    ]


def test_highlight_marks_substrings_without_full_text_search(sqlite):
    assert search.search_highlight("Hello world", "HEL") == [
        ("Hel", True),
        ("lo world", False),
    ]
