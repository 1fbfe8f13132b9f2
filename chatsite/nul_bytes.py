"""A request whose address, query, cookies or headers carry a NUL byte is refused here.

No room, user, search, session or token can hold NUL (PostgreSQL cannot store it and
psycopg refuses to send it), so such a request names nothing: it gets a 400 (JSON from
the REST API, the 400 page elsewhere) before any view or authentication looks it up.
Bodies are checked where they are parsed: Django's forms and DRF's serializers refuse
NUL in text fields, and chat.protocol in socket frames.
"""

from asgiref.sync import iscoroutinefunction
from django.core.exceptions import BadRequest
from django.urls import Resolver404, resolve
from django.utils.decorators import sync_and_async_middleware
from django.utils.translation import gettext as _
from rest_framework.views import APIView

from chat.api.errors import chat_error_json_response
from chat.errors import InvalidInput

NUL = "\x00"


def _request_texts(request):
    yield request.path_info
    for key, values in request.GET.lists():
        yield key
        yield from values
    # Decoded: a quoted cookie value may spell NUL as the octal escape \000.
    for key, value in request.COOKIES.items():
        yield key
        yield value
    for key, value in request.META.items():
        if key.startswith("HTTP_") and isinstance(value, str):
            yield value


def request_carries_nul(request) -> bool:
    return any(NUL in text for text in _request_texts(request))


def _answered_by_rest_api(request) -> bool:
    try:
        view = resolve(request.path_info).func
    except Resolver404:
        return False
    view_class = getattr(view, "view_class", None)
    return isinstance(view_class, type) and issubclass(view_class, APIView)


def _refusal(request):
    detail = _("The address, query, cookies or headers contain a NUL character.")
    if _answered_by_rest_api(request):
        return chat_error_json_response(InvalidInput(detail))
    raise BadRequest(detail)  # Django's 400 page


@sync_and_async_middleware
def refuse_nul_bytes_middleware(get_response):
    if iscoroutinefunction(get_response):

        async def middleware(request):
            if request_carries_nul(request):
                return _refusal(request)
            return await get_response(request)

    else:

        def middleware(request):
            if request_carries_nul(request):
                return _refusal(request)
            return get_response(request)

    return middleware
