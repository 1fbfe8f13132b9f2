"""Who the client is: the one rule for the address (and scheme) of a connection.

The TCP peer is the client, unless it is one of CHAT_TRUSTED_PROXIES; then the
client is the right-most address in X-Forwarded-For that is not a trusted proxy
(each proxy appends the address it saw, so only the entries our own proxies added
can be believed). `ClientAddressMiddleware` applies the rule once per connection to
the ASGI scope, so Django's REMOTE_ADDR, `request.is_secure()` and a socket's
scope["client"] all carry the result; throttles, the sign-in lockout and the
/metrics allow-list read it through `of_request` and never the header itself.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: list[str]) -> tuple[Network, ...]:
    """'10.0.0.1', '10.1.0.0/16', '::1' -> networks; ValueError names a bad entry."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or CIDR") from None
    return tuple(networks)


@lru_cache(maxsize=8)
def _trusted(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return parse_networks(list(entries))


def is_trusted_proxy(address: str) -> bool:
    """Whether `address` is one of CHAT_TRUSTED_PROXIES (never, when unparsable)."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    networks = _trusted(tuple(settings.CHAT_TRUSTED_PROXIES))
    return any(parsed in network for network in networks)


def resolve(peer: str, forwarded_for: str | None) -> str:
    """The client's address, given the TCP peer and the X-Forwarded-For header(s)
    (several headers joined with commas, as HTTP allows).

    From the right, every hop that is a trusted proxy passes the question on to the
    entry before it; the first that is not trusted is the client. An entry that is
    not an address stops the walk at the proxy that reported it (our proxies write
    addresses; anything else came from the client and cannot be believed). If every
    hop is a trusted proxy, the left-most one is the client.
    """
    client = peer
    if not forwarded_for:
        return client
    hops = [hop.strip() for hop in forwarded_for.split(",")]
    for hop in reversed(hops):
        if not is_trusted_proxy(client):
            return client
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return client
        client = hop
    return client


def _forwarded_proto(value: str | None) -> str | None:
    # The proxy nearest to us speaks last; only http and https mean anything.
    if not value:
        return None
    proto = value.split(",")[-1].strip().lower()
    return proto if proto in {"http", "https"} else None


class ClientAddressMiddleware:
    """ASGI middleware (HTTP and WebSocket): puts the client's address, by the rule
    above, in scope["client"], and, when the peer is a trusted proxy, the scheme it
    reports in X-Forwarded-Proto in scope["scheme"] (so `request.is_secure()` and
    the socket's Origin check know the browser used TLS at the proxy)."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] in {"http", "websocket"} and settings.CHAT_TRUSTED_PROXIES:
            scope = self._resolved(scope)
        return await self.application(scope, receive, send)

    @staticmethod
    def _resolved(scope: dict) -> dict:
        peer, port = scope.get("client") or ("", 0)
        if not is_trusted_proxy(peer):
            return scope
        forwarded_for, forwarded_proto = [], None
        for name, value in scope.get("headers", []):
            if name == b"x-forwarded-for":
                forwarded_for.append(value.decode("latin-1"))
            elif name == b"x-forwarded-proto":
                forwarded_proto = value.decode("latin-1")
        scope = {**scope, "client": (resolve(peer, ",".join(forwarded_for)), port)}
        proto = _forwarded_proto(forwarded_proto)
        if proto is not None:
            secure = proto == "https"
            if scope["type"] == "websocket":
                scope["scheme"] = "wss" if secure else "ws"
            else:
                scope["scheme"] = proto
        return scope


def of_request(request) -> str:
    """The client's address of a Django (or DRF) request: REMOTE_ADDR, which
    `ClientAddressMiddleware` has already resolved. Never read X-Forwarded-For
    anywhere else: anyone can send it."""
    return request.META.get("REMOTE_ADDR", "")
