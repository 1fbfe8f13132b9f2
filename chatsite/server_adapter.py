"""The server adapter: the only code that knows Daphne, Twisted and autobahn.

What the chat needs from its server that Daphne does not do by itself:

- Protocol errors (invalid UTF-8, a frame over 64 KiB) are answered with a close
  frame (1007, 1009) instead of a dropped connection.
- Close codes 1009 and 1012: RFC 6455 and the IANA registry define them for servers,
  and our protocol uses them, but autobahn (Daphne's WebSocket layer) refuses to send
  any code outside 1000 and 3000-4999. We send those two through autobahn's frame
  writer directly.
- Slow consumers: Daphne writes every frame into Twisted's transport buffer, which
  grows without bound when a client stops reading. Each connection registers a push
  producer with Twisted (its public producer/consumer interface), which tells it when
  the buffer is over `bufferSize` and when it has drained; frames written meanwhile
  are counted, and past `CHAT_SLOW_CONSUMER_BYTES` the connection is aborted. The
  client sees an abnormal close and recovers everything with `since`.
- Access log: Daphne writes one line per HTTP request and per socket connect and
  disconnect to stdout, in its own format. We send it through `logging` instead
  (logger `daphne.access`), so it comes out in LOG_FORMAT with everything else.
- Direct writes: the connection's protocol is put in the WebSocket scope
  (`chat.transport`) so that the layer's direct fan-out can write a ready frame
  to it (`write_frame`), with the same slow-consumer check. Such a frame goes
  straight to the socket when nothing of Twisted's is waiting before it, instead of
  through Twisted's buffer and a writability callback a loop turn later; that
  reads Twisted's buffer fields, looked for at start-up like everything else.
- Compression: autobahn declines every permessage-deflate offer unless told how to
  accept one. With CHAT_WEBSOCKET_COMPRESSION on, an offer is accepted with
  `server_no_context_takeover` in the answer, so that one compressed frame per
  event serves every connection (chat.delivery.frames builds it), and
  `deflate_window_bits` tells the writer what a connection negotiated. What the
  client compresses autobahn inflates, within the same 64 KiB message limit.
- Request bodies are Django's: Twisted parses every POSTed form or multipart body
  into `request.args` before Daphne sees the request (Daphne never reads them), and
  answers a multipart body it cannot parse with a bare 400 that the application
  never sees. Twisted's own `parsePOSTFormSubmission` switch turns that off.
- Graceful shutdown: on SIGTERM Daphne cancels every application and drops the
  connections (clients would see 1006). We run first, in the reactor's "before
  shutdown" phase: every local socket is closed with 1012 and cleaned up (groups,
  presence), and the close frames get a moment to leave.
- autobahn pretty-prints its whole configuration for a debug line on every
  connection, even when debug lines are dropped: it is only formatted when they
  are not.

All of it patches or calls these libraries where they offer no setting, so
`install()` (called by chatsite.asgi, a no-op unless Daphne is loaded) first checks
that the installed daphne, twisted and autobahn are the versions this module was
verified with and that everything it touches is there, and refuses to start
otherwise. `run()` is the serve command's way into Daphne.
"""

import asyncio
import functools
import importlib
import inspect
import logging
import sys
from importlib import metadata
from typing import NamedTuple

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)

# What sending on a socket whose connection has already closed raises (autobahn,
# under Daphne): the consumer treats it as the client having left.
try:
    from autobahn.exception import Disconnected

    SOCKET_GONE: tuple[type[BaseException], ...] = (Disconnected,)
except ImportError:  # another ASGI server: nothing of autobahn's can be raised
    SOCKET_GONE = ()

CLOSE_SERVICE_RESTART = 1012
CODES_AUTOBAHN_REFUSES = {1009, 1012}
# Long enough for close frames to be written, short enough not to delay a deploy.
SHUTDOWN_FLUSH_SECONDS = 0.3

# The versions this module was verified with: those requirements.lock pins (a test
# holds the two together). Another version may rename or change what is patched
# below without any error, silently turning a protection off, so it is refused.
# To upgrade one: bin/lock, run tests/faults and tests/processes, read the
# library's changes to what RELIED_ON names, then add the version here.
VERIFIED_VERSIONS: dict[str, tuple[str, ...]] = {
    "daphne": ("4.2.3",),
    "twisted": ("26.10.0",),
    "autobahn": ("26.11.1",),
}


class Requirement(NamedTuple):
    """Something of a library's that this module patches or calls."""

    module: str
    name: str  # dotted, within the module
    keyword: str | None = None  # a keyword argument the callable must accept

    @property
    def package(self) -> str:
        return self.module.partition(".")[0]

    def is_met(self) -> bool:
        try:
            found = importlib.import_module(self.module)
            for part in self.name.split("."):
                found = getattr(found, part)
        except (ImportError, AttributeError):
            return False
        if self.keyword is None:
            return True
        return self.keyword in inspect.signature(found).parameters

    def __str__(self) -> str:
        where = f"{self.module}.{self.name}"
        return f"{where}({self.keyword}=...)" if self.keyword else where


RELIED_ON = (
    Requirement("daphne.ws_protocol", "WebSocketFactory.setProtocolOptions"),
    Requirement("daphne.ws_protocol", "WebSocketProtocol.serverClose"),
    Requirement("daphne.ws_protocol", "WebSocketProtocol.serverSend"),
    Requirement("daphne.ws_protocol", "WebSocketProtocol.onOpen"),
    Requirement("daphne.server", "Server.create_application"),
    Requirement("daphne.access", "AccessLogGenerator.write_entry"),
    Requirement("daphne.access", "AccessLogGenerator.__call__", keyword="action"),
    Requirement("daphne.http_protocol", "WebRequest.__init__"),
    Requirement("daphne.cli", "CommandLineInterface.run"),
    Requirement("autobahn.exception", "Disconnected"),
    Requirement("autobahn.websocket.protocol", "WebSocketProtocol.sendCloseFrame"),
    Requirement("autobahn.websocket.protocol", "WebSocketProtocol.STATE_OPEN"),
    Requirement("autobahn.websocket.protocol", "pformat"),
    Requirement(
        "autobahn.websocket.protocol",
        "WebSocketServerFactory.setProtocolOptions",
        "perMessageCompressionAccept",
    ),
    # Also relied on, but set on instances (invisible here): an offer's
    # `accept_no_context_takeover`, `accept_max_window_bits` and
    # `request_max_window_bits`, PerMessageDeflate's `server_max_window_bits`
    # (tests/unit/test_server_adapter.py builds real ones) and a connection's
    # `websocket_extensions_in_use` (tests/processes/test_compression.py).
    Requirement(
        "autobahn.websocket.compress",
        "PerMessageDeflateOffer",
        "request_no_context_takeover",
    ),
    Requirement(
        "autobahn.websocket.compress",
        "PerMessageDeflateOfferAccept",
        "request_max_window_bits",
    ),
    Requirement("autobahn.websocket.compress", "PerMessageDeflate"),
    Requirement(
        "autobahn.twisted.websocket", "WebSocketAdapterProtocol.registerProducer"
    ),
    Requirement("txaio", "get_global_log_level"),
    Requirement("twisted.internet.abstract", "FileDescriptor.bufferSize"),
    Requirement("twisted.internet.abstract", "FileDescriptor.unregisterProducer"),
    Requirement("twisted.internet.tcp", "Connection.abortConnection"),
    Requirement("twisted.internet.tcp", "Connection.getHandle"),
    Requirement("twisted.internet.tcp", "Server"),
    Requirement("twisted.internet.abstract", "FileDescriptor.disconnecting"),
    Requirement("twisted.internet.abstract", "FileDescriptor.connected"),
    Requirement("twisted.internet._newtls", "ConnectionMixin.TLS"),
    Requirement("twisted.internet.defer", "Deferred.fromFuture"),
    Requirement("twisted.web.http", "Request.__init__", "parsePOSTFormSubmission"),
)


# Twisted's unsent-bytes buffer, which _can_send_now reads. FileDescriptor.__init__
# sets them on each connection, so they are looked for on a new instance.
BUFFER_FIELDS = ("dataBuffer", "offset", "_tempDataLen")


def missing_buffer_fields() -> list[str]:
    from twisted.internet.abstract import FileDescriptor

    connection = FileDescriptor(reactor=object())  # a reactor it never calls
    return [field for field in BUFFER_FIELDS if not hasattr(connection, field)]


def installed_version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def check_server_stack() -> None:
    """Raise ImproperlyConfigured unless daphne, twisted and autobahn are verified
    versions and everything in RELIED_ON is there."""
    for package, verified in VERIFIED_VERSIONS.items():
        found = installed_version(package)
        if found not in verified:
            installed = f"{found} is installed" if found else "is not installed"
            raise ImproperlyConfigured(
                f"{package} {installed}, but the server adapter "
                f"(chatsite/server_adapter.py) is verified only with "
                f"{package} {', '.join(verified)}. Install requirements.lock "
                f"(bin/setup), or verify this version and add it to "
                f"VERIFIED_VERSIONS."
            )
    for requirement in RELIED_ON:
        if not requirement.is_met():
            version = installed_version(requirement.package) or "(not installed)"
            raise ImproperlyConfigured(
                f"{requirement.package} {version} has no {requirement}, which the "
                f"server adapter (chatsite/server_adapter.py) relies on."
            )
    missing = missing_buffer_fields()
    if missing:
        version = installed_version("twisted")
        raise ImproperlyConfigured(
            f"twisted {version} has no FileDescriptor.{missing[0]} on a connection, "
            f"which the server adapter (chatsite/server_adapter.py) relies on."
        )


_installed = False


def install() -> None:
    """Under Daphne: check the stack (raising if it is not one verified), then
    patch it, once."""
    global _installed
    if "daphne.server" not in sys.modules:
        return
    # Before anything is patched: a refused stack is left as it was.
    check_server_stack()
    if _installed:
        return
    _installed = True
    _close_properly_on_protocol_errors()
    if settings.CHAT_WEBSOCKET_COMPRESSION:
        _accept_permessage_deflate()
    _allow_server_close_codes()
    _watch_send_buffers()
    _expose_the_socket_to_the_consumer()
    _access_log_through_logging()
    _leave_request_bodies_to_django()
    _close_sockets_on_shutdown()
    _format_configuration_only_for_debug_lines()


def load() -> None:
    """Import Daphne (which installs Twisted's asyncio reactor, as Daphne's own
    start does) ahead of `run`: the serve command imports it before the
    application, whose `install` looks for it, and freezes both as start-up."""
    importlib.import_module("daphne.cli")


def run(arguments: list[str]) -> None:
    """Run Daphne's command line with these arguments (the serve command's)."""
    from daphne.cli import CommandLineInterface

    sys.argv = ["daphne", *arguments]
    CommandLineInterface().run(arguments)


def _close_properly_on_protocol_errors() -> None:
    """Autobahn drops the TCP connection on a protocol error (invalid UTF-8, a frame
    over the size limit) unless told otherwise; the client then sees 1006 and cannot
    tell why. With failByDrop off it sends the close frame first: 1007 or 1009."""
    from daphne.ws_protocol import WebSocketFactory

    original = WebSocketFactory.setProtocolOptions

    def setProtocolOptions(self, *args, **kwargs):
        kwargs.setdefault("failByDrop", False)
        original(self, *args, **kwargs)

    WebSocketFactory.setProtocolOptions = setProtocolOptions


# The client-to-server window asked for when the client lets the server choose
# (browsers and the websockets library do): autobahn keeps an inflater for each
# connection that has sent a compressed message, about 40 KB with 15 bits and 8 KB
# with 10, and the client's frames are short JSON commands, which a 1 KiB window
# compresses about as well.
CLIENT_WINDOW_BITS = 10


def accept_permessage_deflate(offers: list):
    """autobahn's `perMessageCompressionAccept`: accept the client's first
    permessage-deflate offer (None: no compression). The answer carries
    `server_no_context_takeover` even when the client did not ask for it (RFC 7692
    7.1.1.1): every message is compressed on its own, so one compressed frame
    serves every connection with the same window size, and the client need not
    keep a window between messages. A `server_max_window_bits` the client asks
    for is kept (the frame is then compressed with that window)."""
    from autobahn.websocket.compress import (
        PerMessageDeflateOffer,
        PerMessageDeflateOfferAccept,
    )

    for offer in offers:
        if not isinstance(offer, PerMessageDeflateOffer):
            continue  # another compression (bzip2, snappy): not ours
        # autobahn answers `server_no_context_takeover` when the offer asked for
        # it: the same offer, asking for it.
        answered = PerMessageDeflateOffer(
            accept_no_context_takeover=offer.accept_no_context_takeover,
            accept_max_window_bits=offer.accept_max_window_bits,
            request_no_context_takeover=True,
            request_max_window_bits=offer.request_max_window_bits,
        )
        return PerMessageDeflateOfferAccept(
            answered,
            request_max_window_bits=(
                CLIENT_WINDOW_BITS if offer.accept_max_window_bits else 0
            ),
        )
    return None


def _accept_permessage_deflate() -> None:
    from daphne.ws_protocol import WebSocketFactory

    original = WebSocketFactory.setProtocolOptions

    def setProtocolOptions(self, *args, **kwargs):
        kwargs.setdefault("perMessageCompressionAccept", accept_permessage_deflate)
        original(self, *args, **kwargs)

    WebSocketFactory.setProtocolOptions = setProtocolOptions


def deflate_window_bits(protocol) -> int | None:
    """For an open connection, the server-to-client window size (9-15) it
    negotiated for permessage-deflate, or 0 when it takes plain frames; None when
    it is not open (the handshake, which negotiates it, is over once the consumer
    has accepted)."""
    from autobahn.websocket.compress import PerMessageDeflate

    if protocol.state != protocol.STATE_OPEN:
        return None
    for extension in protocol.websocket_extensions_in_use:
        if isinstance(extension, PerMessageDeflate):
            return extension.server_max_window_bits
    return 0


def _allow_server_close_codes() -> None:
    from daphne.ws_protocol import WebSocketProtocol

    original = WebSocketProtocol.serverClose

    def serverClose(self, code=None):
        if code in CODES_AUTOBAHN_REFUSES:
            self.sendCloseFrame(code=code, isReply=False)
        else:
            original(self, code)

    WebSocketProtocol.serverClose = serverClose


class SendBuffer:
    """A connection's Twisted push producer, which only listens: Twisted pauses it
    when more than `buffer_size` bytes wait unsent, and resumes it once every byte
    has left. The application keeps producing (frames are not ours to hold back),
    so a pause starts a count of the bytes written until the resume."""

    __slots__ = ("buffer_size", "paused", "written_while_paused")

    def __init__(self, buffer_size: int):
        self.buffer_size = buffer_size
        self.paused = False
        self.written_while_paused = 0

    def pauseProducing(self) -> None:
        # Called again on every write while the buffer stays over its size: the
        # count starts at the first call.
        if not self.paused:
            self.paused = True
            self.written_while_paused = 0

    def resumeProducing(self) -> None:
        self.paused = False

    def stopProducing(self) -> None:
        pass  # the connection is lost; Daphne and the consumer clean up

    def unsent_at_most(self) -> int:
        """An upper bound of the bytes unsent, while paused. Before the write that
        paused it the buffer held at most `buffer_size`; the writer counts that
        write and every later one, and ignores what has left since."""
        return self.buffer_size + self.written_while_paused


def watch_send_buffer(protocol) -> None:
    """Register a SendBuffer as the producer of an open WebSocket connection."""
    from twisted.internet.abstract import FileDescriptor

    transport = protocol.transport
    protocol.send_buffer = SendBuffer(
        getattr(transport, "bufferSize", FileDescriptor.bufferSize)
    )
    # After the upgrade Twisted's HTTP channel is still the connection's producer
    # (Daphne leaves it there; it does nothing for a WebSocket). A transport has
    # one producer: ours takes its place.
    transport.unregisterProducer()
    protocol.registerProducer(protocol.send_buffer, True)


def _watch_send_buffers() -> None:
    from daphne.ws_protocol import WebSocketProtocol

    original_on_open = WebSocketProtocol.onOpen
    original_send = WebSocketProtocol.serverSend

    def onOpen(self):
        watch_send_buffer(self)
        original_on_open(self)

    @functools.wraps(original_send)
    def serverSend(self, content, binary=False):
        if getattr(self, "aborted_as_slow", False):
            return
        original_send(self, content, binary)
        send_buffer = getattr(self, "send_buffer", None)
        if send_buffer is not None and send_buffer.paused:
            size = len(content) if binary else len(content.encode())
            _count_while_paused(self, send_buffer, size)

    WebSocketProtocol.onOpen = onOpen
    WebSocketProtocol.serverSend = serverSend


def _count_while_paused(protocol, send_buffer: SendBuffer, size: int) -> None:
    """Count a write made while the buffer is full; abort the connection once more
    than CHAT_SLOW_CONSUMER_BYTES may wait unsent."""
    send_buffer.written_while_paused += size
    unsent = send_buffer.unsent_at_most()
    if unsent <= settings.CHAT_SLOW_CONSUMER_BYTES:
        return
    protocol.aborted_as_slow = True
    client = getattr(protocol, "client_addr", None)
    logger.warning(
        "aborting a slow consumer: %d bytes unsent",
        unsent,
        extra={
            "unsent_bytes": unsent,
            "client": f"{client[0]}:{client[1]}" if client else None,
        },
    )
    from chat.metrics import slow_consumer_disconnects

    slow_consumer_disconnects.inc()
    protocol.transport.abortConnection()


def _expose_the_socket_to_the_consumer() -> None:
    """Put the connection's Daphne protocol in the WebSocket scope under
    `chat.transport`, for the direct fan-out (chat.layers)."""
    from daphne.server import Server

    original = Server.create_application

    def create_application(self, protocol, scope):
        if scope.get("type") == "websocket":
            scope = {**scope, "chat.transport": protocol}
        return original(self, protocol, scope)

    Server.create_application = create_application


def write_frame(protocol, frame: bytes) -> bool:
    """Write a ready WebSocket frame to an open Daphne connection, bypassing the
    per-message path; False when the connection is not open (nothing written)."""
    if getattr(protocol, "aborted_as_slow", False):
        return True  # being dropped: the client recovers with `since`
    transport = protocol.transport
    if protocol.state != protocol.STATE_OPEN or transport is None:
        return False
    sent = _send_now(transport, frame) if _can_send_now(transport) else 0
    if sent == len(frame):
        return True
    transport.write(frame[sent:] if sent else frame)
    send_buffer = getattr(protocol, "send_buffer", None)
    if send_buffer is not None and send_buffer.paused:
        _count_while_paused(protocol, send_buffer, len(frame) - sent)
    return True


def _can_send_now(transport) -> bool:
    """Whether a frame may go straight to the connection's socket: a plain TCP (or
    Unix) connection, open, with nothing of Twisted's waiting unsent before it.

    Twisted's `transport.write` never sends at once: it buffers, registers the
    socket for writability with the event loop and sends on the next turn, then
    unregisters it: two epoll_ctl calls and several layers of Python per frame,
    which were more than half of the server's CPU in the fan-out benchmark. When the
    buffer is empty, sending now is what Twisted would do a moment later; when it
    is not, the frame must queue behind it. Twisted exposes the buffer only through
    `dataBuffer`, `offset` and `_tempDataLen` (FileDescriptor's, checked at start-up);
    TLS connections (a wrapped transport, or `TLS` started) always take
    `transport.write`, which encrypts."""
    return (
        isinstance(transport, _tcp_connection or _load_tcp_connection())
        and transport.connected
        and not transport.disconnecting
        and not transport.TLS
        and not transport._tempDataLen
        and len(transport.dataBuffer) == transport.offset
    )


# Twisted's class of accepted TCP (and, by subclass, Unix) connections, imported on
# first use like everything of Twisted's here (none of it is loaded under another
# ASGI server).
_tcp_connection: type | None = None


def _load_tcp_connection() -> type:
    global _tcp_connection
    from twisted.internet.tcp import Server

    _tcp_connection = Server
    return Server


def _send_now(transport, frame: bytes) -> int:
    """Send what the kernel takes now; the number of bytes it took. An error is
    left to Twisted: the frame goes to `transport.write`, whose next send meets the
    error and closes the connection the usual way."""
    try:
        return transport.getHandle().send(frame)
    except OSError:  # EAGAIN (the kernel's buffer is full), EINTR, or gone
        return 0


def _access_log_through_logging() -> None:
    from daphne.access import AccessLogGenerator

    access_logger = logging.getLogger("daphne.access")

    def write_entry(
        self, host, date, request, status=None, length=None, ident=None, user=None
    ):
        access_logger.info(
            '%s "%s" %s %s',
            host,
            request,
            status or "-",
            length or "-",
            extra={
                "client": host,
                "request": request,
                "status_code": status,
                "response_bytes": length,
            },
        )

    AccessLogGenerator.write_entry = write_entry
    log_action = AccessLogGenerator.__call__

    def one_line_per_handshake(self, protocol, action, details):
        # Daphne logs every socket's handshake twice, WSCONNECTING and then
        # WSCONNECT (or WSREJECT); in a reconnect storm the first line of each was
        # 2% of the worker. A handshake that never ends still logs its
        # WSDISCONNECT.
        if protocol == "websocket" and action == "connecting":
            return
        log_action(self, protocol, action, details)

    AccessLogGenerator.__call__ = one_line_per_handshake


def _leave_request_bodies_to_django() -> None:
    from daphne.http_protocol import WebRequest

    original = WebRequest.__init__

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("parsePOSTFormSubmission", False)
        original(self, *args, **kwargs)

    WebRequest.__init__ = __init__


def _close_sockets_on_shutdown() -> None:
    from twisted.internet import reactor
    from twisted.internet.defer import Deferred

    def before_shutdown():
        # Daphne's reactor is driven by an asyncio loop, and Twisted fires its
        # shutdown triggers from a call scheduled on the reactor: the running loop
        # is the one the consumers live on.
        loop = asyncio.get_running_loop()
        return Deferred.fromFuture(loop.create_task(close_all_sockets()))

    reactor.addSystemEventTrigger("before", "shutdown", before_shutdown)


async def close_all_sockets() -> None:
    from chat.presence import registry

    consumers = list(registry.consumers)
    logger.info("shutting down: closing %d sockets with 1012", len(consumers))
    results = await asyncio.gather(
        *(consumer.shut_down(CLOSE_SERVICE_RESTART) for consumer in consumers),
        return_exceptions=True,
    )
    for result in results:
        if isinstance(result, Exception):
            logger.warning("closing a socket at shutdown failed: %r", result)
    await asyncio.sleep(SHUTDOWN_FLUSH_SECONDS)


DEBUG_LEVELS = {"debug", "trace"}


def _format_configuration_only_for_debug_lines() -> None:
    """autobahn logs its whole configuration on every connection
    (`self.log.debug("\\n{attrs}", attrs=pformat(...))` in `_connectionMade`) and
    pretty-prints it before the call, whether or not debug lines are written: about
    0.2 ms per connection. Its module's `pformat` is only used for debug lines, and
    for `Timings.__str__` (timing tracking, which the server never turns on), so
    that name is made to format only when autobahn's debug lines are on (txaio's
    global level: autobahn's loggers follow it)."""
    import txaio
    from autobahn.websocket import protocol

    pformat = protocol.pformat

    def pformat_for_debug_lines(value, *args, **kwargs):
        if txaio.get_global_log_level() in DEBUG_LEVELS:
            return pformat(value, *args, **kwargs)
        return "(not formatted: autobahn's debug logging is off)"

    protocol.pformat = pformat_for_debug_lines
