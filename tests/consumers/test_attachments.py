"""message.send with attachments over the socket: the same checks as REST, and the
attachment objects reach every subscriber, live and in replays."""

import pytest
from channels.db import database_sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile

from chat import attachments
from chat.models import Message
from tests import files
from tests.sockets import open_chat, receive, send, subscribe

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("media_root"),
]


@database_sync_to_async
def upload(user, room, name: str, content: bytes):
    return attachments.attachment_upload(
        room=room, uploader=user, file=SimpleUploadedFile(name, content)
    )


async def test_message_send_with_attachments_arrives_with_their_objects(
    ana, bob, general
):
    picture = await upload(ana, general, "cat.png", files.png())
    notes = await upload(ana, general, "notes.txt", files.TEXT)
    ana_socket, bob_socket = await open_chat(ana), await open_chat(bob)
    await subscribe(ana_socket, "general")
    await subscribe(bob_socket, "general")
    await send(
        ana_socket,
        {
            "type": "message.send",
            "room": "general",
            "body": "",
            "client_id": "with-files",
            "attachments": [picture.pk, notes.pk],
        },
    )
    ack = await receive(ana_socket)
    live = await receive(bob_socket)
    assert ack == live
    assert live["message"]["body"] == ""
    assert live["message"]["attachments"] == [
        {
            "id": picture.pk,
            "name": "cat.png",
            "size": len(files.png()),
            "content_type": "image/png",
            "is_image": True,
            "url": f"/attachments/{picture.pk}/cat.png",
        },
        {
            "id": notes.pk,
            "name": "notes.txt",
            "size": len(files.TEXT),
            "content_type": "text/plain",
            "is_image": False,
            "url": f"/attachments/{notes.pk}/notes.txt",
        },
    ]
    # A replay from history carries the same object.
    replayed, _ = await subscribe(bob_socket, "general", since=0)
    assert replayed[0]["message"] == live["message"]
    await ana_socket.disconnect()
    await bob_socket.disconnect()


async def test_someone_elses_upload_is_refused_and_nothing_is_sent(ana, bob, general):
    bobs = await upload(bob, general, "bob.txt", files.TEXT)
    socket = await open_chat(ana)
    await subscribe(socket, "general")
    await send(
        socket,
        {
            "type": "message.send",
            "room": "general",
            "body": "mine now",
            "client_id": "steal",
            "attachments": [bobs.pk],
        },
    )
    error = await receive(socket)
    assert (error["type"], error["code"], error["ref"]) == (
        "error",
        "attachment_invalid",
        "steal",
    )
    assert not await database_sync_to_async(Message.objects.exists)()
    await socket.disconnect()


@pytest.mark.parametrize("value", ["1", [1.5], [True], [0], [[1]], {"id": 1}])
async def test_attachments_must_be_a_list_of_ids(ana, general, value):
    socket = await open_chat(ana)
    await subscribe(socket, "general")
    await send(
        socket,
        {
            "type": "message.send",
            "room": "general",
            "body": "x",
            "client_id": "bad",
            "attachments": value,
        },
    )
    error = await receive(socket)
    assert (error["code"], error["ref"]) == ("bad_frame", "bad")
    await socket.disconnect()
