"""Who the client is (chatsite.client_address): the TCP peer, unless it is a trusted
proxy; then the right-most X-Forwarded-For entry that is not one."""

import pytest
from django.test import override_settings

from chatsite.client_address import ClientAddressMiddleware, resolve


def test_without_trusted_proxies_the_peer_is_the_client_whatever_the_header_says():
    assert resolve("203.0.113.5", "127.0.0.1, 10.0.0.1") == "203.0.113.5"


@override_settings(CHAT_TRUSTED_PROXIES=["10.0.0.1"])
def test_a_header_from_an_untrusted_peer_is_ignored():
    assert resolve("203.0.113.5", "127.0.0.1") == "203.0.113.5"


@override_settings(CHAT_TRUSTED_PROXIES=["10.0.0.1"])
def test_behind_a_trusted_proxy_the_right_most_entry_is_the_client():
    # The client sent "127.0.0.1" itself; the proxy appended what it saw.
    assert resolve("10.0.0.1", "127.0.0.1, 198.51.100.7") == "198.51.100.7"


@override_settings(CHAT_TRUSTED_PROXIES=["10.0.0.0/8", "::1"])
def test_every_trusted_hop_is_skipped_from_the_right():
    header = "127.0.0.1, 198.51.100.7, 10.2.0.1, 10.3.0.1"
    assert resolve("::1", header) == "198.51.100.7"


@override_settings(CHAT_TRUSTED_PROXIES=["10.0.0.0/8"])
def test_when_every_hop_is_a_proxy_the_left_most_is_the_client():
    assert resolve("10.0.0.1", "10.0.0.9, 10.0.0.8") == "10.0.0.9"


@override_settings(CHAT_TRUSTED_PROXIES=["10.0.0.1"])
def test_a_malformed_entry_stops_at_the_proxy_that_reported_it():
    assert resolve("10.0.0.1", "127.0.0.1, not-an-address") == "10.0.0.1"


@override_settings(CHAT_TRUSTED_PROXIES=["10.0.0.1"])
def test_no_header_from_a_trusted_proxy_leaves_the_proxy():
    assert resolve("10.0.0.1", None) == "10.0.0.1"


async def _scope_seen_by_app(client, headers, scope_type="http"):
    seen = {}

    async def app(scope, receive, send):
        seen.update(scope)

    await ClientAddressMiddleware(app)(
        {"type": scope_type, "client": client, "headers": headers, "scheme": "http"},
        None,
        None,
    )
    return seen


@pytest.mark.parametrize(
    "trusted, expected",
    [([], ("10.0.0.1", 5000, "http")), (["10.0.0.1"], ("198.51.100.7", 5000, "https"))],
)
async def test_the_middleware_puts_the_resolved_client_and_scheme_in_the_scope(
    settings, trusted, expected
):
    settings.CHAT_TRUSTED_PROXIES = trusted
    headers = [
        (b"x-forwarded-for", b"127.0.0.1"),
        (b"x-forwarded-for", b"198.51.100.7"),
        (b"x-forwarded-proto", b"https"),
    ]
    scope = await _scope_seen_by_app(("10.0.0.1", 5000), headers)
    assert (*scope["client"], scope["scheme"]) == expected


async def test_a_socket_behind_a_tls_proxy_gets_the_wss_scheme(settings):
    settings.CHAT_TRUSTED_PROXIES = ["127.0.0.1"]
    headers = [(b"x-forwarded-proto", b"https")]
    scope = await _scope_seen_by_app(("127.0.0.1", 1), headers, "websocket")
    assert scope["scheme"] == "wss"
