"""Attachments over REST: upload rules, sending with attachments, and serving files
so that only members get them and no browser ever runs them."""

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat import services
from chat.models import Attachment, Message
from tests import files
from tests.api.conftest import client_for
from tests.sockets import open_chat, receive, subscribe

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]


def upload_url(slug: str) -> str:
    return f"/api/v1/rooms/{slug}/attachments/"


def messages_url(slug: str) -> str:
    return f"/api/v1/rooms/{slug}/messages/"


def upload(client, slug: str, name: str, content: bytes, **extra):
    return client.post(
        upload_url(slug),
        {"file": SimpleUploadedFile(name, content, **extra)},
        format="multipart",
    )


def uploaded(user, slug: str, name: str, content: bytes) -> dict:
    response = upload(client_for(user, "token"), slug, name, content)
    assert response.status_code == 201, response.content
    return response.json()


def content_of(response) -> bytes:
    """The body of a file response, read as the ASGI server reads it (async)."""

    async def read():
        return b"".join([part async for part in response.streaming_content])

    return async_to_sync(read)()


# ---- uploading -----------------------------------------------------------------------


@pytest.mark.parametrize("auth", ["session", "token"])
def test_upload_answers_201_with_the_attachment_object(world, auth):
    client = client_for(world["users"]["member"], auth)
    response = upload(client, "plaza", "cat.png", files.png(), content_type="text/html")
    assert response.status_code == 201
    body = response.json()
    stored = Attachment.objects.get()
    assert body == {
        "id": stored.pk,
        "name": "cat.png",
        "size": len(files.png()),
        "content_type": "image/png",
        "is_image": True,
        "url": f"/attachments/{stored.pk}/cat.png",
    }
    assert stored.message_id is None


@pytest.mark.parametrize(
    ("user", "slug", "status", "code"),
    [
        ("outsider", "plaza", 403, "not_member"),
        ("outsider", "vault", 404, "room_not_found"),
        ("ben", "plaza", 403, "not_member"),  # banned
        ("staff", "vault", 403, "not_member"),  # seeing is not membership
    ],
)
def test_only_members_upload(world, user, slug, status, code):
    client = client_for(world["users"][user], "token")
    response = upload(client, slug, "a.txt", files.TEXT)
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert not Attachment.objects.exists()


def test_anonymous_upload_is_401(world):
    response = upload(client_for(None, "token"), "plaza", "a.txt", files.TEXT)
    assert response.status_code == 401


def test_muted_member_cannot_upload(world):
    users = world["users"]
    room = world["rooms"]["plaza"]["room"]
    services.member_mute(room=room, actor=users["owner"], user=users["tom"], minutes=5)
    response = upload(client_for(users["tom"], "token"), "plaza", "a.txt", files.TEXT)
    assert (response.status_code, response.json()["code"]) == (403, "muted")


def test_too_large_is_413(world, settings):
    settings.CHAT_ATTACHMENT_MAX_BYTES = 1000
    client = client_for(world["users"]["member"], "token")
    response = upload(client, "plaza", "big.txt", b"x" * 1001)
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert "limit" in response.json()["detail"]


@pytest.mark.parametrize(
    ("name", "content"),
    [("x.png", files.SVG), ("x.png", files.HTML), ("x.png", files.EXE)],
    ids=["svg", "html", "exe"],
)
def test_disallowed_content_is_415_with_a_reason(world, name, content):
    client = client_for(world["users"]["member"], "token")
    response = upload(client, "plaza", name, content, content_type="image/png")
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_type"
    assert response.json()["detail"]


def test_upload_without_the_file_field_is_400(world):
    client = client_for(world["users"]["member"], "token")
    response = client.post(upload_url("plaza"), {"other": "x"}, format="multipart")
    assert (response.status_code, response.json()["code"]) == (400, "invalid")


# ---- sending with attachments --------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_message_with_attachments_reaches_a_socket_as_the_same_object(world):
    users = world["users"]
    picture = await database_sync_to_async(uploaded)(
        users["member"], "plaza", "cat.png", files.png()
    )
    socket = await open_chat(users["tom"])
    await subscribe(socket, "plaza")
    client = await database_sync_to_async(client_for)(users["member"], "token")
    response = await database_sync_to_async(client.post)(
        messages_url("plaza"),
        {"body": "", "client_id": "a-1", "attachments": [picture["id"]]},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["attachments"] == [picture]
    assert response.json()["body"] == ""
    live = await receive(socket)
    assert live["message"] == response.json()
    await socket.disconnect()


def test_empty_body_without_attachments_is_still_refused(world):
    client = client_for(world["users"]["member"], "token")
    response = client.post(
        messages_url("plaza"), {"body": " ", "client_id": "e", "attachments": []}
    )
    assert response.json()["code"] == "body_empty"


@pytest.mark.parametrize(
    "case", ["someone else's", "already attached", "wrong room", "unknown"]
)
def test_attachments_that_are_not_the_senders_free_uploads_are_refused(world, case):
    users = world["users"]
    member = client_for(users["member"], "token")
    if case == "someone else's":
        attachment_id = uploaded(users["tom"], "plaza", "t.txt", files.TEXT)["id"]
    elif case == "wrong room":
        attachment_id = uploaded(users["member"], "vault", "v.txt", files.TEXT)["id"]
    elif case == "unknown":
        attachment_id = 10**9
    else:
        attachment_id = uploaded(users["member"], "plaza", "m.txt", files.TEXT)["id"]
        first = member.post(
            messages_url("plaza"),
            {"body": "first", "client_id": "first", "attachments": [attachment_id]},
            format="json",
        )
        assert first.status_code == 201
    before = Message.objects.count()
    response = member.post(
        messages_url("plaza"),
        {"body": "mine?", "client_id": "second", "attachments": [attachment_id]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "attachment_invalid"
    assert Message.objects.count() == before


@pytest.mark.parametrize("value", [["1"], [1.0], [True], "1", [0], {"id": 1}])
def test_attachments_must_be_a_list_of_ids(world, value):
    client = client_for(world["users"]["member"], "token")
    response = client.post(
        messages_url("plaza"),
        {"body": "x", "client_id": "t", "attachments": value},
        format="json",
    )
    assert response.status_code == 400
    assert not Message.objects.filter(client_id="t").exists()


def test_resend_with_attachments_answers_200_with_the_stored_message(world):
    users = world["users"]
    picture = uploaded(users["member"], "plaza", "cat.png", files.png())
    client = client_for(users["member"], "token")
    payload = {"body": "", "client_id": "same", "attachments": [picture["id"]]}
    first = client.post(messages_url("plaza"), payload, format="json")
    again = client.post(messages_url("plaza"), payload, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()


def test_history_carries_attachments_without_a_query_per_message(world):
    users = world["users"]
    client = client_for(users["member"], "token")

    def history_queries(count: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            page = client.get(f"{messages_url('plaza')}?limit={count}").json()
        assert all(len(m["attachments"]) == 2 for m in page["results"][:count])
        return len(queries)

    for index in range(12):
        ids = [
            uploaded(users["member"], "plaza", f"{index}{n}.txt", files.TEXT)["id"]
            for n in "ab"
        ]
        client.post(
            messages_url("plaza"),
            {"body": str(index), "client_id": f"h-{index}", "attachments": ids},
            format="json",
        )
    assert history_queries(1) == history_queries(12)


# ---- serving -------------------------------------------------------------------------


def sent(world, name: str, content: bytes, *, author="member", slug="plaza") -> dict:
    """An attachment sent in a message; returns its object."""
    user = world["users"][author]
    attachment = uploaded(user, slug, name, content)
    response = client_for(user, "token").post(
        messages_url(slug),
        {"body": name, "client_id": name, "attachments": [attachment["id"]]},
        format="json",
    )
    assert response.status_code == 201
    return response.json()["attachments"][0]


def test_an_image_is_served_inline_and_inert(world):
    picture = sent(world, "cat.png", files.png())
    response = client_for(world["users"]["tom"], "session").get(picture["url"])
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'inline; filename="cat.png"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"].startswith("sandbox; default-src 'none'")
    assert response["Content-Length"] == str(len(files.png()))
    assert "private" in response["Cache-Control"]
    assert "public" not in response["Cache-Control"]
    assert content_of(response) == files.png()


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("report.pdf", files.PDF, "application/pdf"),
        ("notes.txt", files.TEXT, "text/plain; charset=utf-8"),
        # Inert as text, and a download: never rendered or run in our origin.
        ("notes.txt", files.JS, "text/plain; charset=utf-8"),
    ],
)
def test_other_files_are_downloads_never_rendered(world, name, content, content_type):
    attachment = sent(world, name, content)
    response = client_for(world["users"]["tom"], "token").get(attachment["url"])
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"] == f'attachment; filename="{name}"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert content_of(response) == content


def test_a_name_in_any_script_is_offered_for_download_intact(world):
    attachment = sent(world, "報告 2026.pdf", files.PDF)
    assert attachment["url"].endswith("/%E5%A0%B1%E5%91%8A%202026.pdf")
    response = client_for(world["users"]["tom"], "token").get(attachment["url"])
    assert response.status_code == 200
    assert (
        "filename*=utf-8''%E5%A0%B1%E5%91%8A%202026.pdf"
        in (response["Content-Disposition"])
    )


def test_the_file_is_served_whatever_the_client_accepts(world):
    picture = sent(world, "cat.png", files.png())
    client = client_for(world["users"]["tom"], "token")
    response = client.get(picture["url"], HTTP_ACCEPT="image/webp")
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("user", "status"), [("outsider", 404), ("ben", 404), ("staff", 200)]
)
def test_only_members_and_staff_download(world, user, status):
    attachment = sent(world, "secret.txt", files.TEXT, slug="vault")
    response = client_for(world["users"][user], "token").get(attachment["url"])
    assert response.status_code == status


def test_anonymous_download_is_401(world):
    picture = sent(world, "cat.png", files.png())
    assert client_for(None, "token").get(picture["url"]).status_code == 401


@pytest.mark.parametrize(
    ("user", "status"), [("tom", 404), ("mod", 200), ("owner", 200), ("staff", 200)]
)
def test_a_deleted_messages_attachments_are_hidden_but_from_moderators(
    world, user, status
):
    picture = sent(world, "cat.png", files.png())
    message = Message.objects.get(client_id="cat.png")
    services.message_delete(message=message, actor=world["users"]["member"])
    response = client_for(world["users"][user], "token").get(picture["url"])
    assert response.status_code == status


def test_an_unsent_upload_is_served_to_its_uploader_only(world):
    pending = uploaded(world["users"]["member"], "plaza", "draft.txt", files.TEXT)
    mine = client_for(world["users"]["member"], "token").get(pending["url"])
    theirs = client_for(world["users"]["tom"], "token").get(pending["url"])
    assert (mine.status_code, theirs.status_code) == (200, 404)


def test_media_root_is_not_served_as_static_or_media_even_in_debug(world, settings):
    settings.DEBUG = True
    sent(world, "cat.png", files.png())
    stored = Attachment.objects.get().file.name
    client = client_for(world["users"]["member"], "session")
    for path in (f"/media/{stored}", f"/static/{stored}", f"/{stored}"):
        assert client.get(path).status_code == 404, path
