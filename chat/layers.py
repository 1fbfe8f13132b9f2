"""The channel layer: channels-redis's pub/sub layer, plus direct fan-out of new
messages to this process's sockets.

A broadcast reaches each process once (one PUBLISH per room). channels-redis then
puts it into the queue of every local member of the group, and each socket's
consumer task wakes, dispatches the event and sends the frame through Daphne: per
recipient, that machinery is most of the cost of a delivery (docs/benchmarks.md).
For `chat.message.created` this layer decodes the event once, builds the WebSocket
frame once, and offers it to each member's direct receiver (registered by its
consumer): a consumer that is idle, subscribed and exactly in order writes the frame
to its socket at once. Every other member (busy, behind, a gap, nothing registered)
gets the event through its queue as before, so ordering and gap repair stay the
consumer's. Everything else behaves as channels-redis's pub/sub layer.
"""

import asyncio

from channels_redis.pubsub import (
    RedisPubSubChannelLayer,
    RedisPubSubLoopLayer,
    RedisSingleShardConnection,
)
from channels_redis.utils import _wrap_close, decode_hosts

DIRECT_EVENT_TYPES = {"chat.message.created"}


def text_frame(text: str) -> bytes:
    """An unmasked, final WebSocket text frame (RFC 6455, server to client)."""
    payload = text.encode()
    size = len(payload)
    if size < 126:
        header = bytes((0x81, size))
    elif size < 65536:
        header = bytes((0x81, 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + size.to_bytes(8, "big")
    return header + payload


class FanoutShardConnection(RedisSingleShardConnection):
    def _receive_message(self, message):
        if message is None:
            return
        name = message["channel"]
        if isinstance(name, bytes):
            name = name.decode()
        layer = self.channel_layer
        members = layer.groups.get(name)
        if not members or not layer.direct_receivers:
            return super()._receive_message(message)
        data = message["data"]
        event = layer.channel_layer.deserialize(data)
        if event.get("type") not in DIRECT_EVENT_TYPES:
            return super()._receive_message(message)
        wire = text_frame(event["frame"])
        for channel in list(members):
            queue = layer.channels.get(channel)
            if queue is None:
                continue
            receiver = layer.direct_receivers.get(channel)
            # An empty queue: nothing earlier is waiting for this socket, so writing
            # now keeps the socket's events in order.
            if receiver is not None and queue.empty() and receiver(event, wire):
                continue
            queue.put_nowait(data)


class FanoutLoopLayer(RedisPubSubLoopLayer):
    def __init__(self, hosts=None, **kwargs):
        super().__init__(hosts=hosts, **kwargs)
        self._shards = [
            FanoutShardConnection(host, self) for host in decode_hosts(hosts)
        ]
        # channel name -> callable(event, frame bytes) -> True if it took the event
        self.direct_receivers: dict = {}

    def set_direct_receiver(self, channel: str, receiver) -> None:
        self.direct_receivers[channel] = receiver

    def discard_direct_receiver(self, channel: str) -> None:
        self.direct_receivers.pop(channel, None)


class FanoutChannelLayer(RedisPubSubChannelLayer):
    """RedisPubSubChannelLayer whose per-loop layers fan out new messages directly."""

    def _get_layer(self):
        loop = asyncio.get_running_loop()
        try:
            layer = self._layers[loop]
        except KeyError:
            layer = FanoutLoopLayer(*self._args, **self._kwargs, channel_layer=self)
            self._layers[loop] = layer
            _wrap_close(self, loop)
        return layer
