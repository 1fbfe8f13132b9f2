"""The web UI's server side of mentions and search: the room list's @ badge, the
top bar's search box and the server-rendered results page."""

import re

import pytest
from django.urls import reverse

from chat import services

pytestmark = pytest.mark.django_db


def post(room, author, body):
    message, _ = services.message_create(
        room=room, author=author, body=body, client_id=body[:64]
    )
    return message


def test_room_list_shows_unread_mentions_as_an_at_badge(client, ana, bob, general):
    post(general, ana, "@bob ping")
    client.force_login(bob)
    content = client.get(reverse("room-list")).content.decode()
    assert 'data-testid="mentions-general"' in content
    assert ">@1</span>" in content
    client.force_login(ana)
    content = client.get(reverse("room-list")).content.decode()
    # The badge is there for live updates, hidden while there is nothing to show.
    assert re.search(r'data-testid="mentions-general"[^>]*hidden>@0<', content)


def test_the_top_bar_has_a_search_box_for_signed_in_users(client, bob):
    client.force_login(bob)
    content = client.get(reverse("room-list")).content.decode()
    assert 'data-testid="search-input"' in content
    client.logout()
    content = client.get(reverse("login")).content.decode()
    assert 'data-testid="search-input"' not in content


def test_search_page_requires_login(client):
    response = client.get(reverse("search"), {"q": "x"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_results_are_escaped_with_the_matched_term_marked(client, ana, bob, general):
    post(general, ana, "<script>alert(1)</script> lunch & more")
    client.force_login(bob)
    response = client.get(reverse("search"), {"q": "lunch"})
    content = response.content.decode()
    assert response.status_code == 200
    assert "<script>alert(1)" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt; <mark>lunch</mark> &amp; more" in (
        content
    )
    assert f'href="{reverse("room-detail", args=["general"])}"' in content
    assert ">ana</span>" in content
    # The box keeps what was searched for.
    assert 'name="q" value="lunch"' in content


def test_results_come_only_from_the_users_rooms(client, ana, bob, general, hideout):
    post(hideout, ana, "lunch in private")
    post(general, ana, "lunch for everyone")
    client.force_login(bob)
    results = client.get(reverse("search"), {"q": "lunch"}).context["results"]
    assert [result["message"].body for result in results] == ["lunch for everyone"]


def test_older_results_link_continues_from_the_last_result(client, ana, bob, general):
    messages = [post(general, ana, f"standup {i}") for i in range(23)]
    client.force_login(bob)
    first = client.get(reverse("search"), {"q": "standup"})
    assert len(first.context["results"]) == 20
    assert first.context["older_query"] == f"q=standup&before={messages[3].pk}"
    older = client.get(f"{reverse('search')}?{first.context['older_query']}")
    assert [r["message"].pk for r in older.context["results"]] == [
        m.pk for m in messages[2::-1]
    ]
    assert older.context["older_query"] is None


def test_an_empty_search_asks_for_words_and_a_long_one_is_refused(client, bob):
    client.force_login(bob)
    assert client.get(reverse("search")).status_code == 200
    response = client.get(reverse("search"), {"q": "x" * 201})
    assert response.status_code == 400
    assert "limit is 200" in response.content.decode()
