"""API fixtures: users in every role, and clients for session or token auth."""

import pytest
from django.middleware.csrf import _get_new_csrf_string
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from chat import services
from chat.models import Membership


@pytest.fixture
def world(make_user):
    """Two rooms, public 'plaza' and private 'vault', owned by 'owner', each with a
    moderator 'mod', members 'member' and 'tom' (a target), banned 'ben', and users
    outside: 'outsider' and 'staff' (is_staff, a member of nothing)."""
    users = {
        name: make_user(name)
        for name in ("owner", "mod", "member", "tom", "ben", "outsider", "newbie")
    }
    users["staff"] = make_user("staff", is_staff=True)
    rooms = {}
    for slug, private in (("plaza", False), ("vault", True)):
        room = services.room_create(
            owner=users["owner"], slug=slug, name=slug.title(), is_private=private
        )
        for name in ("mod", "member", "tom", "ben"):
            services.member_add(room=room, actor=users["owner"], user=users[name])
        services.member_set_role(
            room=room,
            actor=users["owner"],
            user=users["mod"],
            role=Membership.Role.MODERATOR,
        )
        services.member_ban(room=room, actor=users["owner"], user=users["ben"])
        message, _ = services.message_create(
            room=room, author=users["tom"], body="tom's message", client_id="tom-1"
        )
        rooms[slug] = {"room": room, "tom_message": message}
    return {"users": users, "rooms": rooms}


def client_for(user, auth: str) -> APIClient:
    """An API client signed in with a session (CSRF enforced) or a token."""
    client = APIClient(enforce_csrf_checks=True)
    if user is None:
        return client
    if auth == "token":
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    else:
        client.force_login(user)
        csrf = _get_new_csrf_string()
        client.cookies["csrftoken"] = csrf
        client.credentials(HTTP_X_CSRFTOKEN=csrf)
    return client
