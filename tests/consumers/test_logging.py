"""The socket's log lines that an operator searches for carry their facts as fields
(`extra`), which the JSON log format turns into keys: why a socket was refused or
closed, and for whom."""

import logging

import pytest

from tests.sockets import open_chat, open_socket, receive

pytestmark = pytest.mark.django_db(transaction=True)


def consumer_records(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "chat.consumers"]


async def test_a_refused_socket_is_logged_with_its_reason(caplog):
    with caplog.at_level(logging.INFO, logger="chat.consumers"):
        socket = await open_socket(None)
        assert (await receive(socket))["code"] == "unauthenticated"
        assert (await socket.receive_output(timeout=1))["code"] == 4401
        await socket.disconnect()
    [record] = consumer_records(caplog)
    assert record.levelno == logging.INFO
    assert record.reason == "unauthenticated"


async def test_a_socket_closed_for_flooding_is_logged_with_its_user(
    ana, caplog, settings
):
    settings.CHAT_FLOOD_MAX_ERRORS = 2
    socket = await open_chat(ana)
    with caplog.at_level(logging.INFO, logger="chat.consumers"):
        for _ in range(3):
            await socket.send_to(text_data="not json")
            assert (await receive(socket))["code"] == "bad_json"
        assert (await socket.receive_output(timeout=1))["code"] == 4429
    await socket.disconnect()
    [record] = consumer_records(caplog)
    assert record.levelno == logging.WARNING
    assert (record.user_id, record.close_code) == (ana.pk, 4429)
