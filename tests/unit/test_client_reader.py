"""The consumer's client reader (chat.consumers.read_client): what the server
receives goes into the socket's inbox in order, and a failure to receive reaches
the consumer's loop instead of leaving it waiting forever."""

from chat.consumers import RECEIVE_FAILED, read_client
from chat.delivery.sockets import Inbox


async def test_received_messages_go_into_the_inbox_in_order_then_a_failure():
    received = [{"type": "websocket.connect"}, {"type": "websocket.receive"}]

    async def receive():
        if received:
            return received.pop(0)
        raise RuntimeError("the server went away")

    inbox = Inbox()
    await read_client(receive, inbox)
    assert inbox.get_nowait() == {"type": "websocket.connect"}
    assert inbox.get_nowait() == {"type": "websocket.receive"}
    failed = inbox.get_nowait()
    assert failed["type"] == RECEIVE_FAILED
    assert str(failed["error"]) == "the server went away"
    assert inbox.empty()
