"""REST throttles (DRF's, and sign-up's) keyed on the client's address by the one
rule in chatsite.client_address, never on the raw X-Forwarded-For header.

DRF's own `get_ident` believes that header from anyone (unless NUM_PROXIES is set),
so a caller who rotates it would get a fresh anonymous bucket per request.
"""

from rest_framework.throttling import (
    AnonRateThrottle,
    ScopedRateThrottle,
    SimpleRateThrottle,
    UserRateThrottle,
)

from chatsite import client_address


class ClientAddressIdent:
    """Mixed into every throttle: its `ident` is the resolved client address."""

    def get_ident(self, request):
        return client_address.of_request(request)


class AnonThrottle(ClientAddressIdent, AnonRateThrottle):
    pass


class UserThrottle(ClientAddressIdent, UserRateThrottle):
    pass


class ScopedThrottle(ClientAddressIdent, ScopedRateThrottle):
    pass


class SignUpThrottle(ClientAddressIdent, SimpleRateThrottle):
    """Accounts created per client address (rate "signup"), signed in or not:
    each sign-up is a new identity, which is what the other limits count by."""

    scope = "signup"

    def get_cache_key(self, request, view):
        return self.cache_format % {
            "scope": self.scope,
            "ident": self.get_ident(request),
        }
