"""What the WebSocket layer of the real server does with frames no test client can
send through the ASGI test harness (invalid UTF-8, oversized frames), and with
handshakes it must refuse."""

import pytest

from tests.rawsocket import RawSocket, handshake_status
from tests.servers import ChatServer
from tests.sockets import session_cookie

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def server(transactional_db):
    server = ChatServer().start()
    yield server
    server.stop()


@pytest.fixture
def raw(server, ana):
    from asgiref.sync import async_to_sync

    socket = RawSocket(server.port, async_to_sync(session_cookie)(ana))
    opcode, hello = socket.receive_frame()
    assert b'"hello"' in hello
    return socket


def test_invalid_utf8_in_a_text_frame_closes_with_1007(raw):
    raw.send_text_bytes(b'{"type": "ping", "x": "\xff\xfe"}')
    assert raw.receive_close_code() == 1007


def test_a_frame_over_64_kib_closes_with_1009(raw):
    raw.send_text_bytes(b'{"type": "ping", "pad": "' + b"x" * 70000 + b'"}')
    assert raw.receive_close_code() == 1009


def test_a_frame_of_64_kib_is_answered(raw):
    frame = b'{"type": "ping", "pad": "' + b"x" * (65536 - 27) + b'"}'
    assert len(frame) == 65536
    raw.send_text_bytes(frame)
    opcode, payload = raw.receive_frame()
    assert (opcode, payload) == (0x1, b'{"type":"pong"}')


def test_a_handshake_on_an_unknown_path_is_refused_with_403(server):
    # Not Channels' "No route found" error, which Daphne answers with a 500.
    for path in ["/ws/nowhere/", "/", "/ws/chat/x/", "/ws/chat/%00"]:
        assert handshake_status(server.port, path=path) == 403, path


def test_a_session_cookie_holding_nul_is_unauthenticated_not_a_500(server):
    # A quoted cookie value may spell NUL with an octal escape.
    socket = RawSocket(server.port, '"abcdefgh\\000ijkl"')
    opcode, error = socket.receive_frame()
    assert b'"code":"unauthenticated"' in error
    assert socket.receive_close_code() == 4401
