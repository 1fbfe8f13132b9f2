"""Who the client is (chatsite.client_address): the TCP peer, unless it is a trusted
proxy; then the right-most X-Forwarded-For entry that is not one."""

import pytest
from django.test import override_settings

from chatsite.client_address import ClientAddressMiddleware, resolve


@pytest.mark.parametrize(
    "trusted, peer, forwarded_for, client",
    [
        # No trusted proxies: the peer, whatever the header says.
        ([], "203.0.113.5", "127.0.0.1, 10.0.0.1", "203.0.113.5"),
        # A header from a peer that is not a trusted proxy is ignored.
        (["10.0.0.1"], "203.0.113.5", "127.0.0.1", "203.0.113.5"),
        # The client sent "127.0.0.1" itself; the proxy appended what it saw.
        (["10.0.0.1"], "10.0.0.1", "127.0.0.1, 198.51.100.7", "198.51.100.7"),
        # Every trusted hop is skipped from the right (CIDRs and IPv6 too).
        (
            ["10.0.0.0/8", "::1"],
            "::1",
            "127.0.0.1, 198.51.100.7, 10.2.0.1, 10.3.0.1",
            "198.51.100.7",
        ),
        # When every hop is a proxy, the left-most is the client.
        (["10.0.0.0/8"], "10.0.0.1", "10.0.0.9, 10.0.0.8", "10.0.0.9"),
        # A malformed entry stops at the proxy that reported it.
        (["10.0.0.1"], "10.0.0.1", "127.0.0.1, not-an-address", "10.0.0.1"),
        # No header from a trusted proxy leaves the proxy.
        (["10.0.0.1"], "10.0.0.1", None, "10.0.0.1"),
    ],
)
def test_the_client_is_the_right_most_address_that_is_not_a_trusted_proxy(
    trusted, peer, forwarded_for, client
):
    with override_settings(CHAT_TRUSTED_PROXIES=trusted):
        assert resolve(peer, forwarded_for) == client


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
