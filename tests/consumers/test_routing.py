"""The socket's route (chat.routing): /ws/chat/, also below a mount point; any other
path is refused at the handshake (unknown paths over a real server are in
tests/processes/test_transport_limits.py)."""

import pytest
from channels.testing import WebsocketCommunicator

from chatsite.asgi import application
from tests.sockets import SITE_HEADERS, receive, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


async def handshake(path: str, user, root_path: str = "") -> WebsocketCommunicator:
    cookie = f"sessionid={await session_cookie(user)}".encode()
    communicator = WebsocketCommunicator(
        application, path, headers=[*SITE_HEADERS, (b"cookie", cookie)]
    )
    communicator.scope["root_path"] = root_path
    return communicator


async def test_the_chat_socket_is_found_below_the_mount_point(ana):
    communicator = await handshake("/chat/ws/chat/", ana, root_path="/chat")
    connected, _ = await communicator.connect()
    assert connected
    assert (await receive(communicator))["type"] == "hello"
    await communicator.disconnect()


@pytest.mark.parametrize(
    ("path", "root_path"),
    [("/ws/chat/x/", ""), ("/chat/ws/chat/", ""), ("/chat/ws/", "/chat")],
)
async def test_another_path_is_refused_at_the_handshake(ana, path, root_path):
    communicator = await handshake(path, ana, root_path=root_path)
    connected, _ = await communicator.connect()
    # Closed before it was accepted: the server answers the handshake with 403.
    assert not connected
