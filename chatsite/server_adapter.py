"""What the chat needs from Daphne that Daphne does not do by itself.

- Protocol errors (invalid UTF-8, a frame over 64 KiB) are answered with a close
  frame (1007, 1009) instead of a dropped connection.
- Close codes 1009 and 1012: RFC 6455 and the IANA registry define them for servers,
  and our protocol uses them, but autobahn (Daphne's WebSocket layer) refuses to send
  any code outside 1000 and 3000-4999. We send those two through autobahn's frame
  writer directly.
- Slow consumers: Daphne writes every frame into Twisted's transport buffer, which
  grows without bound when a client stops reading. After each frame we look at the
  bytes still unsent; past `CHAT_SLOW_CONSUMER_BYTES` the connection is aborted. The
  client sees an abnormal close and recovers everything with `since`.
- Access log: Daphne writes one line per HTTP request and per socket connect and
  disconnect to stdout, in its own format. We send it through `logging` instead
  (logger `daphne.access`), so it comes out in LOG_FORMAT with everything else.
- Direct writes: the connection's protocol is put in the WebSocket scope
  (`chat.transport`) so that the layer's direct fan-out can write a ready frame
  to it (`write_frame`), with the same slow-consumer check.
- Request bodies are Django's: Twisted parses every POSTed form or multipart body
  into `request.args` before Daphne sees the request (Daphne never reads them), and
  answers a multipart body it cannot parse with a bare 400 that the application
  never sees. Twisted's own `parsePOSTFormSubmission` switch turns that off.
- Graceful shutdown: on SIGTERM Daphne cancels every application and drops the
  connections (clients would see 1006). We run first, in the reactor's "before
  shutdown" phase: every local socket is closed with 1012 and cleaned up (groups,
  presence), and the close frames get a moment to leave.

`install()` is called by chatsite.asgi and does nothing under another server.
"""

import asyncio
import logging
import sys

from django.conf import settings

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


def install() -> None:
    if "daphne.server" not in sys.modules:
        return
    _close_properly_on_protocol_errors()
    _allow_server_close_codes()
    _limit_unsent_bytes()
    _expose_the_socket_to_the_consumer()
    _access_log_through_logging()
    _leave_request_bodies_to_django()
    _close_sockets_on_shutdown()


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


def _allow_server_close_codes() -> None:
    from daphne.ws_protocol import WebSocketProtocol

    original = WebSocketProtocol.serverClose

    def serverClose(self, code=None):
        if code in CODES_AUTOBAHN_REFUSES:
            self.sendCloseFrame(code=code, isReply=False)
        else:
            original(self, code)

    WebSocketProtocol.serverClose = serverClose


def unsent_bytes(transport) -> int:
    """Bytes a Twisted TCP transport holds that the peer has not taken yet."""
    try:
        buffered = len(transport.dataBuffer) - transport.offset
        return buffered + transport._tempDataLen
    except AttributeError:  # not a plain TCP transport (TLS, a test double)
        return 0


def _abort_if_slow(protocol) -> None:
    """Abort the connection once more than CHAT_SLOW_CONSUMER_BYTES wait unsent."""
    if protocol.transport is None:
        return
    unsent = unsent_bytes(protocol.transport)
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


def _limit_unsent_bytes() -> None:
    from daphne.ws_protocol import WebSocketProtocol

    original = WebSocketProtocol.serverSend

    def serverSend(self, content, binary=False):
        if getattr(self, "aborted_as_slow", False):
            return
        original(self, content, binary)
        _abort_if_slow(self)

    WebSocketProtocol.serverSend = serverSend


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
    if protocol.state != protocol.STATE_OPEN or protocol.transport is None:
        return False
    protocol.transport.write(frame)
    _abort_if_slow(protocol)
    return True


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


def _leave_request_bodies_to_django() -> None:
    import inspect

    from daphne.http_protocol import WebRequest
    from twisted.web.http import Request

    # Checked at start-up: a Twisted without the switch would parse again, silently.
    if "parsePOSTFormSubmission" not in inspect.signature(Request.__init__).parameters:
        raise RuntimeError("Twisted's Request lacks parsePOSTFormSubmission")
    original = WebRequest.__init__

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("parsePOSTFormSubmission", False)
        original(self, *args, **kwargs)

    WebRequest.__init__ = __init__


def _close_sockets_on_shutdown() -> None:
    from twisted.internet import reactor
    from twisted.internet.defer import Deferred

    def before_shutdown():
        future = asyncio.ensure_future(
            close_all_sockets(), loop=reactor._asyncioEventloop
        )
        return Deferred.fromFuture(future)

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
