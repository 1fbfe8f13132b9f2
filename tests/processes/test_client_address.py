"""A real server behind a trusted proxy (CHAT_TRUSTED_PROXIES): the sign-in lockout
and /metrics go by the client the proxy names, never by what a client wrote in
X-Forwarded-For itself, and Daphne does not rewrite the address on its own."""

import re

import pytest
import requests

from tests.servers import ChatServer

WRONG = {"username": "ana", "password": "wrong"}
RIGHT = {"username": "ana", "password": "pw-for-tests-only"}


@pytest.fixture
def behind_proxy(transactional_db):
    # The test connects from 127.0.0.1, so it plays the proxy.
    server = ChatServer(
        extra_env={
            "CHAT_TRUSTED_PROXIES": "127.0.0.1",
            "METRICS_ALLOWED_IPS": "127.0.0.1",
        }
    ).start()
    yield server
    server.stop()


def sign_in(server: ChatServer, client: str, data: dict) -> int:
    """The login form posted through "the proxy" for `client`: the status code."""
    # The client forges a loopback entry; the proxy appends the address it saw.
    forwarded = {"X-Forwarded-For": f"127.0.0.1, {client}"}
    with requests.Session() as session:
        page = session.get(f"{server.http_url}/accounts/login/", headers=forwarded)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]
        answer = session.post(
            f"{server.http_url}/accounts/login/",
            data={**data, "csrfmiddlewaretoken": token},
            headers=forwarded,
            allow_redirects=False,
            timeout=10,
        )
    return answer.status_code


def test_the_lockout_counts_per_client_behind_the_proxy(behind_proxy, ana):
    # The fifth failure is answered with the lockout already.
    statuses = [sign_in(behind_proxy, "198.51.100.7", WRONG) for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]
    assert sign_in(behind_proxy, "198.51.100.7", RIGHT) == 429
    # Another client through the same proxy shares nothing with the locked one.
    assert sign_in(behind_proxy, "198.51.100.8", RIGHT) == 302


def test_a_forged_loopback_entry_does_not_open_metrics(behind_proxy):
    metrics = f"{behind_proxy.http_url}/metrics"
    forged = {"X-Forwarded-For": "127.0.0.1, 198.51.100.7"}
    assert requests.get(metrics, headers=forged, timeout=10).status_code == 403
    # The proxy's own host, scraping without a header, is loopback.
    assert requests.get(metrics, timeout=10).status_code == 200
