"""How frames reach one connection, in the order they were written.

Every frame a socket gets (its own answers and what the hub fans out) goes through
its writer, so there is one order per connection. Under Daphne the server adapter
writes the frame built once per event straight to the connection (no per-socket
encoding), compressed when the connection negotiated permessage-deflate; under any
other ASGI server, and the tests' communicator, the text goes through the ASGI
`send`, in order, from one drain task.
"""

import asyncio
import logging
from collections import deque

from chat.delivery.frames import Wire
from chatsite import server_adapter

logger = logging.getLogger(__name__)


class DirectWriter:
    """Writes ready frames to a Daphne connection through the server adapter."""

    def __init__(self, connection, send):
        self.connection = connection
        self.send = send
        # permessage-deflate's server window size, 0 for plain frames; None until
        # the first write. The writer is made before the handshake, which negotiates
        # it, and nothing is written before the consumer accepts, which ends the
        # handshake.
        self.deflate_window_bits: int | None = None

    def write(self, wire: Wire) -> None:
        window_bits = self.deflate_window_bits
        if window_bits is None:
            window_bits = server_adapter.deflate_window_bits(self.connection)
            if window_bits is None:
                return  # the connection is not open: nothing can be written
            self.deflate_window_bits = window_bits
        frame = wire.deflated_frame(window_bits) if window_bits else wire.frame
        # False: the connection is no longer open. Nothing was written, and the
        # disconnect that follows cleans the socket up.
        server_adapter.write_frame(self.connection, frame)

    async def close(self, code: int) -> None:
        await self.send({"type": "websocket.close", "code": code})


class AsgiWriter:
    """Writes through the ASGI `send`, one frame after another from one task, so that
    frames written while an earlier `send` is still awaited keep their order."""

    def __init__(self, send):
        self.send = send
        self.pending: deque = deque()
        self.drainer: asyncio.Task | None = None
        self.gone = False

    def write(self, wire: Wire) -> None:
        if self.gone:
            return
        self.pending.append({"type": "websocket.send", "text": wire.text})
        if self.drainer is None:
            self.drainer = asyncio.get_running_loop().create_task(self.drain())

    async def close(self, code: int) -> None:
        if self.drainer is not None:
            await asyncio.shield(self.drainer)
        if not self.gone:
            # Nothing may follow the close frame (ASGI), whoever writes next.
            self.gone = True
            await self.send({"type": "websocket.close", "code": code})

    async def drain(self) -> None:
        try:
            while self.pending:
                await self.send(self.pending.popleft())
        except Exception:
            # The connection went away under us: what is left cannot be sent, and
            # the disconnect that follows cleans the socket up.
            self.gone = True
            self.pending.clear()
            logger.debug("socket gone while writing", exc_info=True)
        finally:
            self.drainer = None


def writer_for(scope: dict, send):
    """The writer for a connection: direct under Daphne (the adapter put the
    connection in the scope), through `send` otherwise."""
    connection = scope.get("chat.transport")
    if connection is not None:
        return DirectWriter(connection, send)
    return AsgiWriter(send)
