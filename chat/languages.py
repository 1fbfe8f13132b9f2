"""The language of a socket, picked at the handshake by the rules LocaleMiddleware
applies to a request (Channels runs no Django middleware).

Only the choice lives here; the consumer activates it. Which languages exist, and
how to add translations, is in settings.LANGUAGES and the README ("Languages").
"""

from django.conf import settings
from django.utils.translation import get_supported_language_variant
from django.utils.translation.trans_real import (
    language_code_re,
    parse_accept_lang_header,
)


def socket_language(scope: dict) -> str:
    """The `django_language` cookie the switch sets, if it names a language we
    have; else the best of the handshake's Accept-Language; else LANGUAGE_CODE."""
    cookie = scope.get("cookies", {}).get(settings.LANGUAGE_COOKIE_NAME)
    if cookie:
        try:
            return get_supported_language_variant(cookie)
        except LookupError:
            pass
    for accepted, _quality in parse_accept_lang_header(_accept_language(scope)):
        if accepted == "*":
            break
        if not language_code_re.search(accepted):
            continue
        try:
            return get_supported_language_variant(accepted)
        except LookupError:
            continue
    return get_supported_language_variant(settings.LANGUAGE_CODE)


def _accept_language(scope: dict) -> str:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"accept-language":
            return value.decode("latin-1")
    return ""
