"""Fixtures for tests that run real server processes."""

import pytest

from tests.servers import ChatServer


@pytest.fixture
def two_servers(redis_url, transactional_db):
    """Two Daphne processes on the test database, sharing Redis."""
    servers = [ChatServer().start(), ChatServer().start()]
    yield servers
    for server in servers:
        server.stop()
