"""The web UI's server side: sign-up, login, room list, create, join, leave, room
page."""

import pytest
from django.urls import reverse

from chat.models import Membership, Room

pytestmark = pytest.mark.django_db


def test_sign_up_creates_the_account_and_signs_in(client, django_user_model):
    response = client.post(
        reverse("signup"),
        {
            "username": "newbie",
            "password1": "a-Long-passw0rd",
            "password2": "a-Long-passw0rd",
        },
    )
    assert response.status_code == 302
    assert django_user_model.objects.filter(username="newbie").exists()
    assert client.get(reverse("room-list")).status_code == 200


def test_login_and_logout(client, ana):
    response = client.post(
        reverse("login"), {"username": "ana", "password": "pw-for-tests-only"}
    )
    assert response.status_code == 302
    assert client.get(reverse("room-list")).context["user"] == ana
    client.post(reverse("logout"))
    assert client.get(reverse("room-list")).status_code == 302


def test_room_list_requires_login(client):
    response = client.get(reverse("room-list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_room_list_hides_private_rooms_of_others(client, carol, general, hideout):
    client.force_login(carol)
    content = client.get(reverse("room-list")).content.decode()
    assert "General" in content
    assert "Hideout" not in content


def test_create_room_redirects_to_it_and_makes_owner(client, bob):
    client.force_login(bob)
    response = client.post(
        reverse("room-create"),
        {"slug": "bobs", "name": "Bob's", "topic": "", "is_private": ""},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("room-detail", args=["bobs"])
    assert Membership.objects.get(room__slug="bobs", user=bob).role == "owner"


def test_create_room_with_taken_slug_shows_the_reason(client, bob, general):
    client.force_login(bob)
    response = client.post(reverse("room-create"), {"slug": "general", "name": "Dup"})
    assert response.status_code == 400
    assert "is not available" in response.content.decode()
    assert Room.objects.count() == 1


def test_join_public_room_and_leave_it(client, carol, general):
    client.force_login(carol)
    client.post(reverse("room-join", args=["general"]))
    assert Membership.objects.filter(user=carol, room=general).exists()
    client.post(reverse("room-leave", args=["general"]))
    assert not Membership.objects.filter(user=carol, room=general).exists()


def test_join_needs_post_and_csrf(carol, general):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(carol)
    assert client.get(reverse("room-join", args=["general"])).status_code == 405
    assert client.post(reverse("room-join", args=["general"])).status_code == 403
    assert not Membership.objects.filter(user=carol, room=general).exists()


def test_a_banned_user_pressing_join_is_told_so_and_stays_out(
    client, ana, bob, general
):
    from chat import services

    services.member_ban(room=general, actor=ana, user=bob)
    client.force_login(bob)
    response = client.post(reverse("room-join", args=["general"]), follow=True)
    assert response.status_code == 200
    assert response.redirect_chain == [(reverse("room-detail", args=["general"]), 302)]
    page = response.content.decode()
    assert "You are banned from this room." in page
    assert 'data-testid="join"' not in page  # the page offers no Join again
    assert not Membership.objects.filter(user=bob, room=general).exists()


def test_the_room_list_offers_no_join_to_a_banned_user(
    client, ana, bob, carol, general
):
    from chat import services

    services.member_ban(room=general, actor=ana, user=bob)
    client.force_login(bob)
    page = client.get(reverse("room-list")).content.decode()
    assert 'data-testid="join-general"' not in page
    assert 'data-testid="banned-general"' in page
    client.force_login(carol)  # not banned, not a member: Join is offered
    page = client.get(reverse("room-list")).content.decode()
    assert 'data-testid="join-general"' in page
    assert 'data-testid="banned-general"' not in page


def test_private_room_page_is_404_for_outsiders(client, carol, hideout):
    client.force_login(carol)
    assert client.get(reverse("room-detail", args=["hideout"])).status_code == 404
    assert client.post(reverse("room-join", args=["hideout"])).status_code == 404


def test_room_page_for_members_loads_the_chat_script(client, bob, general):
    client.force_login(bob)
    content = client.get(reverse("room-detail", args=["general"])).content.decode()
    assert 'data-room="general"' in content
    assert "chat/room.js" in content


def test_room_names_are_escaped_in_pages(client, ana):
    from chat import services

    services.room_create(owner=ana, slug="x", name="<script>alert(1)</script>")
    client.force_login(ana)
    content = client.get(reverse("room-list")).content.decode()
    assert "<script>alert(1)</script>" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content


def test_static_chat_script_is_served(client):
    response = client.get("/static/chat/room.js")
    assert response.status_code == 200


def test_admin_lists_every_chat_model(admin_client):
    for model in ("room", "membership", "message"):
        assert admin_client.get(f"/admin/chat/{model}/").status_code == 200


def test_room_list_shows_unread_counts(client, ana, bob, general):
    from chat import services

    for i in range(3):
        services.message_create(room=general, author=ana, body=str(i), client_id=str(i))
    client.force_login(bob)
    content = client.get(reverse("room-list")).content.decode()
    assert 'data-testid="unread-general"' in content
    assert ">3</span>" in content
