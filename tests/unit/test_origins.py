"""The socket's Origin check (chatsite.origins): scheme, host and port must be the
site's own (from the handshake's Host and scheme) or in CSRF_TRUSTED_ORIGINS."""

import pytest

from chatsite.origins import is_allowed, parse_origin


def handshake(host: str, scheme: str = "ws") -> dict:
    return {
        "type": "websocket",
        "scheme": scheme,
        "headers": [(b"host", host.encode())],
    }


def allowed(origin: str, scope: dict) -> bool:
    parsed = parse_origin(origin)
    return parsed is not None and is_allowed(parsed, scope)


@pytest.mark.parametrize(
    "origin, expected",
    [
        ("http://127.0.0.1:8000", True),
        ("HTTP://127.0.0.1:8000", True),
        ("http://127.0.0.1:9999", False),
        ("http://127.0.0.1", False),
        ("https://127.0.0.1:8000", False),
        ("http://localhost:8000", False),
    ],
)
def test_only_the_sites_own_scheme_host_and_port_are_its_origin(origin, expected):
    assert allowed(origin, handshake("127.0.0.1:8000")) is expected


def test_default_ports_are_the_same_origin_written_or_not(settings):
    settings.ALLOWED_HOSTS = ["chat.example.org"]
    assert allowed("https://chat.example.org:443", handshake("chat.example.org", "wss"))


def test_a_host_outside_allowed_hosts_is_no_origin_of_ours(settings):
    # DNS rebinding: evil.example resolves to us; its page's Origin matches its Host.
    settings.ALLOWED_HOSTS = ["chat.example.org"]
    assert not allowed("http://evil.example", handshake("evil.example"))


def test_behind_tls_the_page_origin_is_https(settings):
    settings.ALLOWED_HOSTS = ["chat.example.org"]
    assert allowed("https://chat.example.org", handshake("chat.example.org", "wss"))
    assert not allowed("http://chat.example.org", handshake("chat.example.org", "wss"))


def test_csrf_trusted_origins_are_accepted_exactly_or_by_subdomain(settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://app.example.org", "https://*.example.net"]
    scope = handshake("127.0.0.1:8000")
    assert allowed("https://app.example.org", scope)
    assert not allowed("https://app.example.org:8443", scope)
    assert not allowed("http://app.example.org", scope)
    assert allowed("https://chat.example.net", scope)
    assert not allowed("http://chat.example.net", scope)
    assert not allowed("https://example.net.evil.example", scope)


async def handshake_passes(origin: str, host: str) -> bool:
    """Whether SiteOriginValidator hands the handshake on (or denies it)."""
    from chatsite.origins import SiteOriginValidator

    passed = []

    async def inner(scope, receive, send):
        passed.append(True)

    sent = []
    arriving = [
        {"type": "websocket.connect"},
        {"type": "websocket.disconnect", "code": 1000},
    ]

    async def receive():
        return arriving.pop(0)

    async def send(message):
        sent.append(message)

    scope = handshake(host)
    scope["headers"].append((b"origin", origin.encode()))
    await SiteOriginValidator(inner)(scope, receive, send)
    return bool(passed)


async def test_the_validators_remembered_answers_follow_the_settings(settings):
    settings.ALLOWED_HOSTS = ["chat.example.org"]
    assert await handshake_passes("http://chat.example.org", "chat.example.org")
    assert await handshake_passes("http://chat.example.org", "chat.example.org")
    settings.ALLOWED_HOSTS = ["other.example.org"]
    assert not await handshake_passes("http://chat.example.org", "chat.example.org")
    settings.CSRF_TRUSTED_ORIGINS = ["http://chat.example.org"]
    assert await handshake_passes("http://chat.example.org", "chat.example.org")
