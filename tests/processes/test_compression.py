"""permessage-deflate (RFC 7692) on a real Daphne: a client that offers it gets every
message.new compressed (RSV1 set), small frames plain, and the same compressed frame
as every other such socket of the room, written by the hub's direct path; a client
that offers nothing gets plain frames; what a client compresses is held to the same
64 KiB limit once inflated; CHAT_WEBSOCKET_COMPRESSION=0 declines every offer."""

import json
import random
import urllib.request
import zlib

import pytest
from asgiref.sync import async_to_sync

from chat import services
from tests.prometheus import increase, parse
from tests.rawsocket import RawSocket
from tests.servers import ChatServer
from tests.sockets import session_cookie

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]

DEFLATE = "permessage-deflate; client_max_window_bits"
RSV1 = 0x40
TRAILER = b"\x00\x00\xff\xff"


@pytest.fixture
def server(redis_url, transactional_db):
    server = ChatServer().start()
    yield server
    server.stop()


def inflate(payload: bytes, window_bits: int = 15) -> bytes:
    """One message on its own, as a client without the server's context would,
    keeping no more than its window: output comes 256 bytes at a time (zlib refers
    back into the output of the same call, whatever its window)."""
    inflater = zlib.decompressobj(-window_bits)
    out = inflater.decompress(payload + TRAILER, 256)
    while inflater.unconsumed_tail:
        out += inflater.decompress(inflater.unconsumed_tail, 256)
    return out


def compress(payload: bytes, window_bits: int) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -window_bits)
    data = compressor.compress(payload) + compressor.flush(zlib.Z_SYNC_FLUSH)
    return data[: -len(TRAILER)]


class Client:
    """A raw socket that reads frames as they come, RSV1 and all."""

    def __init__(self, server: ChatServer, user, extensions: str | None = None):
        cookie = async_to_sync(session_cookie)(user)
        self.raw = RawSocket(server.port, cookie, extensions=extensions)
        self.window_bits = 15

    def next_frame(self, frame_type: str) -> tuple[bool, bytes, dict]:
        """(compressed, payload as sent, the frame) of the next frame of the type."""
        while True:
            first, payload = self.raw.receive_frame_with_flags()
            compressed = bool(first & RSV1)
            text = inflate(payload, self.window_bits) if compressed else payload
            frame = json.loads(text)
            assert frame["type"] != "error" or frame_type == "error", frame
            if frame["type"] == frame_type:
                return compressed, payload, frame

    def send(self, frame: dict) -> None:
        self.raw.send_json(frame)

    def subscribe(self, room: str) -> None:
        self.send({"type": "subscribe", "room": room})
        self.next_frame("subscribed")


def member(make_user, room, name: str):
    user = make_user(name)
    services.room_join(user=user, room=room)
    return user


def scrape(server: ChatServer) -> dict[str, float]:
    with urllib.request.urlopen(f"{server.http_url}/metrics", timeout=5) as response:
        return parse(response.read().decode())


def test_an_offer_is_accepted_without_server_context_takeover(server, ana):
    client = Client(server, ana, DEFLATE)
    head = client.raw.handshake_response.lower()
    assert (
        "sec-websocket-extensions: permessage-deflate; server_no_context_takeover; "
        "client_max_window_bits=10\r\n"
    ) in head
    compressed, _, hello = client.next_frame("hello")
    assert hello["user"]["username"] == "ana"
    assert not compressed  # under 100 bytes: plain


def test_message_frames_are_compressed_small_ones_are_not(server, ana, general):
    client = Client(server, ana, DEFLATE)
    client.subscribe("general")
    body = "Sounds good, I'll push the fix after lunch and ping you when it is green."
    client.send(
        {"type": "message.send", "room": "general", "body": body, "client_id": "c1"}
    )
    compressed, payload, frame = client.next_frame("message.new")
    assert compressed
    assert frame["message"]["body"] == body
    assert len(payload) < len(json.dumps(frame, separators=(",", ":")))
    client.send({"type": "ping"})
    compressed, payload, _ = client.next_frame("pong")
    assert (compressed, payload) == (False, b'{"type":"pong"}')


def test_sockets_offering_deflate_share_one_compressed_frame_others_get_plain(
    server, make_user, general, ana
):
    deflating = [
        Client(server, member(make_user, general, f"z{index}"), DEFLATE)
        for index in range(3)
    ]
    plain = Client(server, member(make_user, general, "plain"))
    sender = Client(server, ana)
    for client in [*deflating, plain, sender]:
        client.subscribe("general")
    before = scrape(server)
    bodies = [f"message {index}: {'lorem ipsum ' * index}." for index in range(20)]
    for index, body in enumerate(bodies):
        frame = {"type": "message.send", "room": "general", "body": body}
        sender.send({**frame, "client_id": f"c{index}"})
    for body in bodies:
        _, sent_plain, expected = plain.next_frame("message.new")
        assert expected["message"]["body"] == body
        received = [client.next_frame("message.new") for client in deflating]
        # Each socket inflates its frame on its own to exactly the plain payload,
        # and all got the same compressed bytes.
        assert all(compressed for compressed, _, _ in received)
        assert {payload for _, payload, _ in received} == {received[0][1]}
        assert inflate(received[0][1]) == sent_plain
    after = scrape(server)
    direct = increase(before, after, "chat_direct_fanout_total")
    assert direct >= len(bodies) * len(deflating) / 2  # the hub's direct writes


def test_the_server_window_a_client_asks_for_is_kept(server, ana, general):
    client = Client(server, ana, DEFLATE + "; server_max_window_bits=10")
    assert "server_max_window_bits=10" in client.raw.handshake_response
    client.window_bits = 10
    client.subscribe("general")
    # Repeats 2,100 bytes apart: a 15-bit window would refer back that far, which a
    # client with a 1 KiB window cannot follow.
    chunk = "".join(chr(random.Random(7).randrange(0x4E00, 0x9FFF)) for _ in range(700))
    frame = {"type": "message.send", "room": "general", "body": chunk * 2}
    client.send({**frame, "client_id": "c1"})
    compressed, _, frame = client.next_frame("message.new")
    assert compressed
    assert frame["message"]["body"] == chunk * 2


def test_a_compressed_frame_of_64_kib_once_inflated_is_answered(server, ana):
    client = Client(server, ana, DEFLATE)
    client.next_frame("hello")
    frame = b'{"type": "ping", "pad": "' + b"x" * (65536 - 27) + b'"}'
    assert len(frame) == 65536
    client.raw.send_text_bytes(compress(frame, 10), rsv1=True)
    assert client.next_frame("pong")[2] == {"type": "pong"}


def test_a_compressed_frame_inflating_past_64_kib_closes_with_1009(server, ana):
    client = Client(server, ana, DEFLATE)
    client.next_frame("hello")
    frame = b'{"type": "ping", "pad": "' + b"x" * (65536 - 26) + b'"}'
    client.raw.send_text_bytes(compress(frame, 10), rsv1=True)
    code, reason = client.raw.receive_close()
    # Refused by the WebSocket layer once inflated (the consumer's own check of the
    # same limit gives no reason).
    assert (code, "payload limit of 65536 octets" in reason) == (1009, True), reason


def test_a_decompression_bomb_closes_with_1009(server, ana, bob):
    client = Client(server, ana, DEFLATE)
    client.next_frame("hello")
    bomb = compress(b"x" * (50 << 20), 10)  # 50 MiB in about 50 KB
    assert len(bomb) < 65536
    client.raw.send_text_bytes(bomb, rsv1=True)
    code, reason = client.raw.receive_close()
    # Inflation stops at the limit: 64 KiB are inflated, not 50 MiB.
    assert (code, reason) == (
        1009,
        "received WebSocket message exceeds payload limit of 65536 octets after "
        "decompression",
    )
    # The server is still answering.
    other = Client(server, bob, DEFLATE)
    other.send({"type": "ping"})
    assert other.next_frame("pong")[2] == {"type": "pong"}


def test_with_compression_off_an_offer_is_declined(redis_url, transactional_db, ana):
    server = ChatServer(extra_env={"CHAT_WEBSOCKET_COMPRESSION": "0"}).start()
    try:
        client = Client(server, ana, DEFLATE)
        assert "sec-websocket-extensions" not in client.raw.handshake_response.lower()
        client.next_frame("hello")
    finally:
        server.stop()
