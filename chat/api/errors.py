"""Maps chat errors raised by services to REST responses, in one place."""

from rest_framework.response import Response
from rest_framework.views import exception_handler

from chat.errors import ChatError

STATUS_BY_CODE = {
    "room_not_found": 404,
    "not_member": 403,
    "forbidden": 403,
    "muted": 403,
    "rate_limited": 429,
    "banned": 403,
    "not_found": 404,
}


def chat_exception_handler(exc, context):
    if isinstance(exc, ChatError):
        status = STATUS_BY_CODE.get(exc.code, 400)
        response = Response({"detail": exc.detail, "code": exc.code}, status=status)
        if status == 429:
            response["Retry-After"] = str(getattr(exc, "retry_after", 1))
        return response
    return exception_handler(exc, context)
