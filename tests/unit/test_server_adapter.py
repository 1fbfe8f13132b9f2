"""The server adapter's start-up check and its slow-consumer bookkeeping.

The send-buffer tests drive a real Twisted transport (FileDescriptor, its write
buffer and its producer calls) whose peer takes only what a test lets it, under a
real Daphne WebSocketProtocol.
"""

import re
from importlib import metadata
from pathlib import Path
from pprint import pformat

import pytest
from daphne.ws_protocol import WebSocketProtocol
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from twisted.internet.abstract import FileDescriptor
from twisted.web.http import Request

from chat import metrics
from chatsite import server_adapter

FRAME = b"\x81\x7e\x0f\xa0" + b"x" * 4000  # a 4000-byte text frame


def test_the_installed_daphne_twisted_and_autobahn_are_accepted():
    server_adapter.check_server_stack()  # raises otherwise


def test_the_verified_versions_are_those_requirements_lock_pins():
    lock = Path(settings.BASE_DIR, "requirements.lock").read_text()
    for package, verified in server_adapter.VERIFIED_VERSIONS.items():
        pinned = re.search(rf"^{package}==(\S+)", lock, re.MULTILINE)
        assert pinned, f"{package} is not pinned in requirements.lock"
        assert pinned[1] in verified, (
            f"requirements.lock pins {package} {pinned[1]}: verify the server "
            f"adapter with it and add it to VERIFIED_VERSIONS"
        )


def pretend_installed(monkeypatch, package: str, version: str) -> None:
    real = metadata.version
    monkeypatch.setattr(
        metadata, "version", lambda name: version if name == package else real(name)
    )


def test_an_unverified_version_is_refused_naming_it_and_the_verified_one(
    monkeypatch,
):
    pretend_installed(monkeypatch, "twisted", "99.1.0")
    with pytest.raises(ImproperlyConfigured) as refused:
        server_adapter.check_server_stack()
    assert str(refused.value).startswith(
        "twisted 99.1.0 is installed, but the server adapter "
        "(chatsite/server_adapter.py) is verified only with twisted 26.10.0."
    )


def test_a_missing_method_is_refused_naming_it(monkeypatch):
    monkeypatch.delattr(WebSocketProtocol, "serverSend")
    with pytest.raises(ImproperlyConfigured) as refused:
        server_adapter.check_server_stack()
    assert str(refused.value) == (
        "daphne 4.2.3 has no daphne.ws_protocol.WebSocketProtocol.serverSend, which "
        "the server adapter (chatsite/server_adapter.py) relies on."
    )


def test_a_twisted_request_without_the_form_parsing_switch_is_refused(monkeypatch):
    monkeypatch.setattr(Request, "__init__", lambda self, channel, queued=None: None)
    with pytest.raises(ImproperlyConfigured, match="parsePOSTFormSubmission=..."):
        server_adapter.check_server_stack()


def test_install_refuses_an_unverified_version_before_patching_anything(
    monkeypatch,
):
    # The test process has loaded Daphne (it is an installed app), as a server has.
    monkeypatch.setattr(server_adapter, "_installed", False)
    pretend_installed(monkeypatch, "autobahn", "1.0")
    before = dict(vars(WebSocketProtocol))
    with pytest.raises(ImproperlyConfigured, match="autobahn 1.0 is installed"):
        server_adapter.install()
    assert dict(vars(WebSocketProtocol)) == before


class Pipe(FileDescriptor):
    """A connected Twisted transport whose peer reads only what a test allows."""

    connected = True

    def __init__(self):
        super().__init__(reactor=object())  # never asked to watch the socket
        self.peer_reads = 0  # bytes the peer will take at the next doWrite
        self.written = 0
        self.frames: list[bytes] = []  # every write, as written
        self.aborted = False

    def write(self, data):
        self.written += len(data)
        self.frames.append(data)
        super().write(data)

    def startWriting(self):
        pass

    def stopWriting(self):
        pass

    def writeSomeData(self, data):
        taken = min(len(data), self.peer_reads)
        self.peer_reads -= taken
        return taken

    def abortConnection(self):
        self.aborted = True

    def peer_reads_everything(self):
        self.peer_reads = 1 << 30
        self.doWrite()


@pytest.fixture
def connection():
    protocol = WebSocketProtocol()
    protocol.transport = Pipe()
    protocol.state = protocol.STATE_OPEN
    protocol.client_addr = ["127.0.0.1", 50000]  # as Daphne's onConnect sets it
    server_adapter.watch_send_buffer(protocol)
    return protocol


def frames_until_aborted(protocol, limit: int = 1000) -> int:
    for count in range(1, limit + 1):
        assert server_adapter.write_frame(protocol, FRAME)
        if protocol.transport.aborted:
            return count
    return 0


def test_a_client_that_stops_reading_is_aborted_once_the_limit_may_be_unsent(
    connection, caplog
):
    aborted_before = metrics.slow_consumer_disconnects.value
    count = frames_until_aborted(connection)
    # Paused past bufferSize (64 KiB, the 17th frame); from then every frame counts.
    assert count * len(FRAME) > settings.CHAT_SLOW_CONSUMER_BYTES
    assert (count - 1) * len(FRAME) <= settings.CHAT_SLOW_CONSUMER_BYTES
    assert connection.aborted_as_slow
    assert metrics.slow_consumer_disconnects.value == aborted_before + 1
    [record] = caplog.records
    unsent = 65536 + (count - 16) * len(FRAME)
    assert record.getMessage() == f"aborting a slow consumer: {unsent} bytes unsent"
    assert (record.unsent_bytes, record.client) == (unsent, "127.0.0.1:50000")
    # Being dropped: taken, nothing more written.
    written = connection.transport.written
    assert server_adapter.write_frame(connection, FRAME)
    assert connection.transport.written == written


def test_messages_daphne_sends_count_in_bytes_too(connection, monkeypatch):
    from autobahn.twisted.websocket import WebSocketServerFactory

    # Daphne's own serverSend, wrapped by the adapter for this test only.
    daphne_send = getattr(WebSocketProtocol.serverSend, "__wrapped__", None)
    monkeypatch.setattr(
        WebSocketProtocol, "serverSend", daphne_send or WebSocketProtocol.serverSend
    )
    server_adapter._watch_send_buffers()
    connection.factory = WebSocketServerFactory()
    connection._connectionMade()  # autobahn's per-connection state
    connection.state = connection.STATE_OPEN
    text = "é" * 2000  # 4000 bytes of UTF-8
    count = 0
    while not connection.transport.aborted and count < 1000:
        connection.serverSend(text)
        count += 1
    # Paused on the 17th 4004-byte frame; then 4000 bytes a message.
    assert 65536 + (count - 16) * 4000 > settings.CHAT_SLOW_CONSUMER_BYTES
    assert 65536 + (count - 17) * 4000 <= settings.CHAT_SLOW_CONSUMER_BYTES
    written = connection.transport.written
    connection.serverSend(text)  # being dropped: nothing more written
    assert connection.transport.written == written


def test_a_client_that_keeps_up_is_never_aborted(connection):
    for _ in range(1000):
        assert server_adapter.write_frame(connection, FRAME)
        connection.transport.peer_reads_everything()
    assert not connection.transport.aborted


def test_a_client_that_catches_up_between_bursts_starts_a_fresh_count(connection):
    below_the_limit = settings.CHAT_SLOW_CONSUMER_BYTES // len(FRAME) - 5
    for _ in range(3):
        for _ in range(below_the_limit):
            assert server_adapter.write_frame(connection, FRAME)
        assert connection.send_buffer.paused
        connection.transport.peer_reads_everything()  # the buffer drains: resumed
    assert not connection.transport.aborted


def test_a_frame_for_a_connection_that_is_not_open_is_not_written(connection):
    connection.state = connection.STATE_CLOSING
    assert not server_adapter.write_frame(connection, FRAME)
    assert connection.transport.written == 0


def test_autobahn_formats_its_configuration_only_when_its_debug_lines_are_on(
    monkeypatch,
):
    import txaio
    from autobahn.websocket import protocol

    monkeypatch.setattr(protocol, "pformat", pformat)  # put back after the test
    server_adapter._format_configuration_only_for_debug_lines()
    configuration = [("autoPingInterval", 20, "WebSocketFactory")]
    assert protocol.pformat(configuration) == (
        "(not formatted: autobahn's debug logging is off)"
    )
    level = txaio.get_global_log_level()
    txaio.set_global_log_level("debug")
    try:
        assert protocol.pformat(configuration) == pformat(configuration)
    finally:
        txaio.set_global_log_level(level)


# ---- permessage-deflate ------------------------------------------------------------


def offer_of(header: str):
    """autobahn's parse of a client's permessage-deflate offer (the header value)."""
    from autobahn.websocket.compress import PerMessageDeflateOffer

    name, *parameters = [part.strip() for part in header.split(";")]
    assert name == "permessage-deflate"
    params = {}
    for parameter in parameters:
        key, _, value = parameter.partition("=")
        params[key] = [value or True]
    return PerMessageDeflateOffer.parse(params)


@pytest.mark.parametrize(
    ("offered", "answered"),
    [
        # Chrome's and the websockets library's offer
        (
            "permessage-deflate; client_max_window_bits",
            "permessage-deflate; server_no_context_takeover; client_max_window_bits=10",
        ),
        # Firefox's and Safari's
        ("permessage-deflate", "permessage-deflate; server_no_context_takeover"),
        (
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=12",
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=12",
        ),
    ],
)
def test_a_deflate_offer_is_answered_without_server_context_takeover(offered, answered):
    accept = server_adapter.accept_permessage_deflate([offer_of(offered)])
    assert accept.get_extension_string() == answered


def test_the_negotiated_server_window_is_the_one_the_client_asked_for():
    from autobahn.websocket.compress import PerMessageDeflate

    for offered, window_bits in [
        ("permessage-deflate; server_max_window_bits=11", 11),
        ("permessage-deflate; client_max_window_bits", 15),
    ]:
        accept = server_adapter.accept_permessage_deflate([offer_of(offered)])
        extension = PerMessageDeflate.create_from_offer_accept(True, accept)
        assert (
            extension.server_max_window_bits,
            extension.server_no_context_takeover,
        ) == (
            window_bits,
            True,
        )


def test_only_deflate_offers_are_accepted():
    from autobahn.websocket.compress import PerMessageBzip2Offer

    assert server_adapter.accept_permessage_deflate([PerMessageBzip2Offer()]) is None
    assert server_adapter.accept_permessage_deflate([]) is None


def negotiated(connection, offered: str | None):
    """The connection as autobahn leaves it after a handshake with this offer."""
    from autobahn.websocket.compress import PerMessageDeflate

    connection.websocket_extensions_in_use = []
    if offered is not None:
        accept = server_adapter.accept_permessage_deflate([offer_of(offered)])
        connection.websocket_extensions_in_use.append(
            PerMessageDeflate.create_from_offer_accept(True, accept)
        )
    return connection


def test_the_writer_learns_what_the_connection_negotiated(connection):
    assert server_adapter.deflate_window_bits(negotiated(connection, None)) == 0
    offered = "permessage-deflate; server_max_window_bits=12"
    assert server_adapter.deflate_window_bits(negotiated(connection, offered)) == 12
    connection.state = connection.STATE_CONNECTING  # handshake not over: unknown
    assert server_adapter.deflate_window_bits(connection) is None


def test_a_deflate_connection_is_written_the_compressed_frame(connection):
    from chat.delivery.frames import Wire
    from chat.delivery.writers import DirectWriter

    text = '{"type":"message.new","body":"' + "hello " * 40 + '"}'
    writer = DirectWriter(negotiated(connection, "permessage-deflate"), send=None)
    wire = Wire(text)
    writer.write(wire)
    assert connection.transport.frames == [wire.deflated_frame(15)]
    assert connection.transport.frames[0][0] == 0xC1  # RSV1


def test_a_plain_connection_is_written_the_plain_frame(connection):
    from chat.delivery.frames import Wire
    from chat.delivery.writers import DirectWriter

    text = '{"type":"message.new","body":"' + "hello " * 40 + '"}'
    writer = DirectWriter(negotiated(connection, None), send=None)
    writer.write(Wire(text))
    assert connection.transport.frames == [Wire(text).frame]


def test_nothing_is_written_before_the_handshake_is_over(connection):
    from chat.delivery.frames import Wire
    from chat.delivery.writers import DirectWriter

    connection.state = connection.STATE_CONNECTING
    writer = DirectWriter(connection, send=None)
    writer.write(Wire("{}"))
    assert connection.transport.frames == []
    # Learned once open, not before.
    negotiated(connection, "permessage-deflate").state = connection.STATE_OPEN
    writer.write(Wire("x" * 200))
    assert connection.transport.frames[0][0] == 0xC1


class WritabilityWatch:
    """The reactor of a real Twisted TCP connection in these tests: it records
    which connections asked to be told when their socket is writable."""

    def __init__(self):
        self.writers = set()

    def addWriter(self, connection):
        self.writers.add(connection)

    def removeWriter(self, connection):
        self.writers.discard(connection)

    def addReader(self, connection):
        pass

    def removeReader(self, connection):
        pass


@pytest.fixture
def tcp_connection():
    """An open Daphne WebSocketProtocol on Twisted's own accepted-TCP-connection
    transport, over a real loopback TCP connection: `peer` is the client's end."""
    import socket

    from twisted.internet.tcp import Server

    with socket.create_server(("127.0.0.1", 0)) as listening:
        peer = socket.socket()
        # Small kernel buffers, so that a test can fill them.
        peer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        peer.connect(listening.getsockname())
        server_side, _ = listening.accept()
        server_side.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
    reactor = WritabilityWatch()
    protocol = WebSocketProtocol()
    protocol.transport = Server(
        server_side, protocol, ("127.0.0.1", 50000), None, 1, reactor
    )
    protocol.state = protocol.STATE_OPEN
    protocol.client_addr = ["127.0.0.1", 50000]
    server_adapter.watch_send_buffer(protocol)
    peer.setblocking(False)
    yield protocol, peer, reactor
    peer.close()
    server_side.close()


def read_all(peer) -> bytes:
    received = b""
    while True:
        try:
            chunk = peer.recv(1 << 20)
        except BlockingIOError:
            return received
        received += chunk


def test_a_frame_for_an_idle_connection_is_sent_at_once(tcp_connection):
    protocol, peer, reactor = tcp_connection
    assert server_adapter.write_frame(protocol, FRAME)
    # On the wire already, with no writability callback asked for.
    assert read_all(peer) == FRAME
    assert reactor.writers == set()


def test_a_frame_queues_behind_what_twisted_has_not_sent_yet(tcp_connection):
    protocol, peer, reactor = tcp_connection
    transport = protocol.transport
    transport.write(b"earlier")  # as autobahn writes its own frames
    assert server_adapter.write_frame(protocol, FRAME)
    assert read_all(peer) == b""  # nothing jumped ahead
    assert reactor.writers == {transport}
    transport.doWrite()  # the loop's turn: Twisted sends, in order
    assert read_all(peer) == b"earlier" + FRAME
    assert reactor.writers == set()
    # Drained: the next frame goes at once again.
    assert server_adapter.write_frame(protocol, b"\x81\x02hi")
    assert read_all(peer) == b"\x81\x02hi"


def test_what_the_kernel_does_not_take_is_left_to_twisted_in_order(
    tcp_connection, settings
):
    settings.CHAT_SLOW_CONSUMER_BYTES = 10 << 20  # a slow reader, not one to drop
    protocol, peer, reactor = tcp_connection
    transport = protocol.transport
    # A frame larger than the kernel buffers of both ends (the kernel takes part
    # of it), then small ones.
    payload = bytes(range(256)) * 2000
    big = b"\x82\x7f" + len(payload).to_bytes(8, "big") + payload
    frames = [big] + [b"\x81\x7e\x0f\xa0" + bytes([i]) * 4000 for i in range(50)]
    for frame in frames:
        assert server_adapter.write_frame(protocol, frame)
    assert reactor.writers == {transport}  # the rest waits in Twisted's buffer
    received = read_all(peer)
    assert 0 < len(received) < len(b"".join(frames))
    while reactor.writers:
        transport.doWrite()
        received += read_all(peer)
    assert received == b"".join(frames)


def test_a_closing_connection_is_never_written_to_directly(tcp_connection):
    protocol, peer, reactor = tcp_connection
    transport = protocol.transport
    transport.loseConnection()  # Twisted closes once its buffer has drained
    assert server_adapter.write_frame(protocol, FRAME)
    assert read_all(peer) == b""


def test_a_tls_connection_is_never_written_to_directly(tcp_connection):
    protocol, peer, reactor = tcp_connection
    transport = protocol.transport
    transport.TLS = True  # started TLS: the bytes must go through the encryption
    encrypted = []
    transport.write = encrypted.append
    assert server_adapter.write_frame(protocol, FRAME)
    assert encrypted == [FRAME]
    assert read_all(peer) == b""


def test_twisted_without_its_buffer_fields_is_refused(monkeypatch):
    monkeypatch.setattr(server_adapter, "BUFFER_FIELDS", ("dataBuffer", "_unsentLen"))
    with pytest.raises(ImproperlyConfigured) as refused:
        server_adapter.check_server_stack()
    assert str(refused.value) == (
        "twisted 26.10.0 has no FileDescriptor._unsentLen on a connection, which the "
        "server adapter (chatsite/server_adapter.py) relies on."
    )
