"""Maps chat errors raised by services to REST responses, in one place.

Every error response the API gives passes here, so here it is also counted in
`chat_errors_total{transport="http"}`, by the same codes the socket uses.
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults
from rest_framework.response import Response
from rest_framework.views import exception_handler

from chat import metrics
from chat.errors import ChatError, NotFound, TooLarge

# Where no route matching an address is answered in JSON, as the API's own 404s
# are: the API, and the attachment files it links to.
JSON_NOT_FOUND_PREFIXES = ("/api/", "/attachments/")

STATUS_BY_CODE = {
    "room_not_found": 404,
    "not_member": 403,
    "forbidden": 403,
    "muted": 403,
    "rate_limited": 429,
    "banned": 403,
    "not_found": 404,
    "too_large": 413,
    "unsupported_type": 415,
    "edit_window_closed": 403,
    "invalid_query": 400,
}


def _chat_error_answer(exc: ChatError) -> tuple[dict, int]:
    """The body and status answering a chat error, counted."""
    metrics.errors.labels("http", exc.code).inc()
    body = {"detail": exc.detail, "code": exc.code, **exc.fields()}
    return body, STATUS_BY_CODE.get(exc.code, 400)


def chat_exception_handler(exc, context):
    if isinstance(exc, RequestDataTooBig):
        # Django's own answer would be its 400 page; this API answers in JSON.
        exc = TooLarge(
            _("The request body is larger than %(limit)d bytes.")
            % {"limit": settings.DATA_UPLOAD_MAX_MEMORY_SIZE}
        )
    if isinstance(exc, ChatError):
        body, status = _chat_error_answer(exc)
        response = Response(body, status=status)
        if status == 429:
            response["Retry-After"] = str(getattr(exc, "retry_after", 1))
        return response
    response = exception_handler(exc, context)
    metrics.errors.labels("http", _drf_code(exc, response)).inc()
    return response


def chat_error_json_response(exc: ChatError) -> JsonResponse:
    """The same answer to a chat error, from outside DRF's views (a middleware)."""
    body, status = _chat_error_answer(exc)
    return JsonResponse(body, status=status)


def _drf_code(exc, response) -> str:
    """DRF's own code for its exceptions (not_authenticated, throttled, invalid...);
    server_error for what it does not handle (Django then answers 500)."""
    if response is None:
        return "server_error"
    if isinstance(exc, Http404):
        return "not_found"
    if isinstance(exc, PermissionDenied):
        return "permission_denied"
    return getattr(exc, "default_code", "error")


def page_not_found(request, exception):
    """Django's handler404: an address no route matches (`/api/v1/messages/-1/`)
    is a JSON 404 under the API, Django's page elsewhere."""
    if request.path_info.startswith(JSON_NOT_FOUND_PREFIXES):
        return chat_error_json_response(NotFound())
    return defaults.page_not_found(request, exception)
