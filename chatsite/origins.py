"""The WebSocket Origin check: a handshake is accepted only from the site's own
origins, compared by scheme, host and port (not by host alone).

The site's own origin is the handshake's scheme (http for ws, https for wss, as
resolved by chatsite.client_address behind a trusted proxy) with its Host header,
provided that host is one of ALLOWED_HOSTS; CSRF_TRUSTED_ORIGINS adds others, with
Django's meaning (`https://*.example.org` for the subdomains), so that the pages
allowed to post forms to the site are the pages allowed to open its sockets.
Anything else, or no Origin at all, is refused (Daphne answers 403).
"""

import functools
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import is_same_domain, split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}
SOCKET_TO_PAGE_SCHEME = {"ws": "http", "wss": "https"}

Origin = tuple[str, str, int]  # scheme, host, port


def parse_origin(text: str) -> Origin | None:
    """'https://Chat.example.org' -> ('https', 'chat.example.org', 443); None when it
    is not an http(s) origin."""
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme]


def own_origin(scope: dict) -> Origin | None:
    """The origin of the site as this handshake reached it (its scheme and Host)."""
    host = _header(scope, b"host")
    if host is None:
        return None
    domain, _port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    scheme = SOCKET_TO_PAGE_SCHEME.get(scope.get("scheme", "ws"), "http")
    return parse_origin(f"{scheme}://{host}")


def is_allowed(origin: Origin, scope: dict) -> bool:
    if origin == own_origin(scope):
        return True
    for trusted in settings.CSRF_TRUSTED_ORIGINS:
        scheme, _, netloc = trusted.partition("://")
        if netloc.startswith("*."):
            # Django's CSRF wildcard: any subdomain, on the pattern's scheme.
            pattern = parse_origin(f"{scheme}://{netloc[2:]}")
            if (
                pattern is not None
                and (origin[0], origin[2]) == (pattern[0], pattern[2])
                and is_same_domain(origin[1], "." + pattern[1])
            ):
                return True
        elif origin == parse_origin(trusted):
            return True
    return False


def _header(scope: dict, name: bytes) -> str | None:
    for header, value in scope.get("headers", []):
        if header == name:
            return value.decode("latin-1")
    return None


class SiteOriginValidator:
    """ASGI middleware for WebSocket handshakes: refuse foreign origins."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        allowed = _allowed(
            _header(scope, b"origin"),
            _header(scope, b"host"),
            scope.get("scheme", "ws"),
            tuple(settings.ALLOWED_HOSTS),
            tuple(settings.CSRF_TRUSTED_ORIGINS),
        )
        if allowed:
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)


@functools.lru_cache(maxsize=1024)
def _allowed(
    origin_text: str | None,
    host: str | None,
    scheme: str,
    allowed_hosts: tuple[str, ...],
    trusted_origins: tuple[str, ...],
) -> bool:
    """The check for one handshake's Origin, Host and scheme under these settings:
    the same few combinations come back on every connect (parsing them was 2% of a
    reconnect storm), so the answers are kept."""
    origin = parse_origin(origin_text) if origin_text is not None else None
    if origin is None:
        return False
    headers = [(b"host", host.encode("latin-1"))] if host is not None else []
    return is_allowed(origin, {"headers": headers, "scheme": scheme})
