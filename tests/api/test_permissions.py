"""The permission matrix: every endpoint of the contract, for every kind of caller,
on a public and a private room, with session auth (CSRF enforced) and token auth.

Each row lists the expected status for (public room, private room) per role.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.api.conftest import client_for

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "outsider", "member", "mod", "owner", "staff"]


def same(status):
    return (status, status)


# A body that stands for a multipart upload of a small text file.
UPLOAD = "multipart upload"

# method, path (with {slug}, {tom}, {ben}, {message}), body, expectations per role
MATRIX = [
    ("post", "auth/logout/", None,
     {"anonymous": same(401), "outsider": same(204), "member": same(204),
      "mod": same(204), "owner": same(204), "staff": same(204)}),
    ("get", "rooms/", None,
     {"anonymous": same(401), "outsider": same(200), "member": same(200),
      "mod": same(200), "owner": same(200), "staff": same(200)}),
    ("post", "rooms/", {"slug": "new-room", "name": "New"},
     {"anonymous": same(401), "outsider": same(201), "member": same(201),
      "mod": same(201), "owner": same(201), "staff": same(201)}),
    ("get", "rooms/{slug}/", None,
     {"anonymous": same(401), "outsider": (200, 404), "member": same(200),
      "mod": same(200), "owner": same(200), "staff": same(200)}),
    ("patch", "rooms/{slug}/", {"topic": "new topic"},
     {"anonymous": same(401), "outsider": (403, 404), "member": same(403),
      "mod": same(200), "owner": same(200), "staff": same(200)}),
    ("post", "rooms/{slug}/join/", None,
     {"anonymous": same(401), "outsider": (200, 404), "member": same(200),
      "mod": same(200), "owner": same(200), "staff": (200, 404)}),
    ("post", "rooms/{slug}/leave/", None,
     {"anonymous": same(401), "outsider": (403, 404), "member": same(204),
      "mod": same(204), "owner": same(403), "staff": same(403)}),
    ("get", "rooms/{slug}/members/", None,
     {"anonymous": same(401), "outsider": (200, 404), "member": same(200),
      "mod": same(200), "owner": same(200), "staff": same(200)}),
    ("post", "rooms/{slug}/members/", {"username": "newbie"},
     {"anonymous": same(401), "outsider": (403, 404), "member": same(403),
      "mod": same(201), "owner": same(201), "staff": same(201)}),
    ("delete", "rooms/{slug}/members/{tom}/", None,
     {"anonymous": same(401), "outsider": (403, 404), "member": same(403),
      "mod": same(204), "owner": same(204), "staff": same(204)}),
    ("patch", "rooms/{slug}/members/{tom}/", {"role": "moderator"},
     {"anonymous": same(401), "outsider": (403, 404), "member": same(403),
      "mod": same(403), "owner": same(200), "staff": same(200)}),
    ("post", "rooms/{slug}/members/{tom}/mute/", {"minutes": 5, "reason": "spam"},
     {"anonymous": same(401), "outsider": (403, 404), "member": same(403),
      "mod": same(200), "owner": same(200), "staff": same(200)}),
    ("post", "rooms/{slug}/members/{tom}/unmute/", None,
     {"anonymous": same(401), "outsider": (403, 404), "member": same(403),
      "mod": same(200), "owner": same(200), "staff": same(200)}),
    ("post", "rooms/{slug}/members/{tom}/ban/", {"reason": "spam"},
     {"anonymous": same(401), "outsider": (403, 404), "member": same(403),
      "mod": same(204), "owner": same(204), "staff": same(204)}),
    ("post", "rooms/{slug}/members/{ben}/unban/", None,
     {"anonymous": same(401), "outsider": (403, 404), "member": same(403),
      "mod": same(204), "owner": same(204), "staff": same(204)}),
    ("get", "rooms/{slug}/presence/", None,
     {"anonymous": same(401), "outsider": (403, 404), "member": same(200),
      "mod": same(200), "owner": same(200), "staff": same(403)}),
    ("get", "rooms/{slug}/messages/", None,
     {"anonymous": same(401), "outsider": (403, 404), "member": same(200),
      "mod": same(200), "owner": same(200), "staff": same(403)}),
    ("post", "rooms/{slug}/messages/", {"body": "hi", "client_id": "m-1"},
     {"anonymous": same(401), "outsider": (403, 404), "member": same(201),
      "mod": same(201), "owner": same(201), "staff": same(403)}),
    ("patch", "messages/{message}/", {"body": "edited"},
     {"anonymous": same(401), "outsider": same(404), "member": same(403),
      "mod": same(403), "owner": same(403), "staff": same(403)}),
    ("delete", "messages/{message}/", None,
     {"anonymous": same(401), "outsider": same(404), "member": same(403),
      "mod": same(204), "owner": same(204), "staff": same(204)}),
    ("post", "rooms/{slug}/read/", {"last_id": 1},
     {"anonymous": same(401), "outsider": (403, 404), "member": same(204),
      "mod": same(204), "owner": same(204), "staff": same(403)}),
    ("get", "direct/", None,
     {"anonymous": same(401), "outsider": same(200), "member": same(200),
      "mod": same(200), "owner": same(200), "staff": same(200)}),
    ("post", "direct/", {"username": "tom"},
     {"anonymous": same(401), "outsider": same(201), "member": same(201),
      "mod": same(201), "owner": same(201), "staff": same(201)}),
    ("post", "users/{tom}/notify/", {"data": {"hello": 1}},
     {"anonymous": same(401), "outsider": same(403), "member": same(403),
      "mod": same(403), "owner": same(403), "staff": same(202)}),
    ("post", "rooms/{slug}/attachments/", UPLOAD,
     {"anonymous": same(401), "outsider": (403, 404), "member": same(201),
      "mod": same(201), "owner": same(201), "staff": same(403)}),
    ("get", "messages/{message}/revisions/", None,
     {"anonymous": same(401), "outsider": same(404), "member": same(403),
      "mod": same(200), "owner": same(200), "staff": same(200)}),
    ("post", "messages/{message}/reactions/", {"emoji": "👍"},
     {"anonymous": same(401), "outsider": same(404), "member": same(201),
      "mod": same(201), "owner": same(201), "staff": same(403)}),
    ("delete", "messages/{message}/reactions/👍/", None,
     {"anonymous": same(401), "outsider": same(404), "member": same(204),
      "mod": same(204), "owner": same(204), "staff": same(403)}),
    # Search answers everyone signed in, from their own rooms only (test_search.py).
    ("get", "search/", {"q": "message"},
     {"anonymous": same(401), "outsider": same(200), "member": same(200),
      "mod": same(200), "owner": same(200), "staff": same(200)}),
]  # fmt: skip


def cases():
    for method, path, body, expected in MATRIX:
        for role in ROLES:
            for index, slug in enumerate(("plaza", "vault")):
                auths = ["none"] if role == "anonymous" else ["session", "token"]
                for auth in auths:
                    yield pytest.param(
                        method,
                        path,
                        body,
                        role,
                        slug,
                        auth,
                        expected[role][index],
                        id=f"{method.upper()} {path} {role} {slug} {auth}",
                    )


@pytest.mark.parametrize(
    ("method", "path", "body", "role", "slug", "auth", "status"), list(cases())
)
def test_permission_matrix(
    world, method, path, body, role, slug, auth, status, request
):
    body_format = "json"
    if body == UPLOAD:
        request.getfixturevalue("media_root")
        body = {"file": SimpleUploadedFile("a.txt", b"hello")}
        body_format = "multipart"
    users = world["users"]
    room = world["rooms"][slug]
    url = "/api/v1/" + path.format(
        slug=slug,
        tom=users["tom"].pk,
        ben=users["ben"].pk,
        message=room["tom_message"].pk,
    )
    client = client_for(None if role == "anonymous" else users[role], auth)
    response = getattr(client, method)(url, body, format=body_format)
    assert response.status_code == status, response.content
    if status >= 400:
        assert "detail" in response.json() or response.json()


def test_every_contract_endpoint_is_in_the_matrix():
    from django.urls import get_resolver

    covered = {path for _, path, _, _ in MATRIX}
    api = get_resolver().url_patterns
    routes = set()
    for pattern in api:
        if str(pattern.pattern) == "api/v1/":
            for sub in pattern.url_patterns:
                routes.add(str(sub.pattern))
    documented_elsewhere = {"auth/token/", "schema/", "docs/"}
    normalised = {
        route.replace("<str:slug>", "{slug}")
        .replace("<int:user_id>", "{tom}")
        .replace("<int:message_id>", "{message}")
        .replace("<str:emoji>", "👍")
        for route in routes - documented_elsewhere
    }
    covered = {path.replace("{ben}", "{tom}") for path in covered}
    assert normalised <= covered, normalised - covered


def test_session_post_without_csrf_token_is_refused(world):
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    client.force_login(world["users"]["member"])
    response = client.post(
        "/api/v1/rooms/plaza/messages/", {"body": "hi", "client_id": "x"}, format="json"
    )
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
