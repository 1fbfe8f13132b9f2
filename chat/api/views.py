"""REST views: parse the request, call a selector or service, answer. No rules here."""

from urllib.parse import urlencode

from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from chat import protocol, selectors
from chat.errors import NotMember

HISTORY_DEFAULT_LIMIT = 50
HISTORY_MAX_LIMIT = 200


def _query_int(
    request, name: str, *, minimum: int, maximum: int | None = None
) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit():
        raise ValidationError({name: f"'{name}' must be a whole number."})
    value = int(raw)
    if value < minimum or (maximum is not None and value > maximum):
        bound = (
            f"from {minimum} to {maximum}" if maximum is not None else f">= {minimum}"
        )
        raise ValidationError({name: f"'{name}' must be {bound}."})
    return value


class RoomMessagesView(APIView):
    """GET a room's history: newest first, or oldest first after `?after=`."""

    def get(self, request, slug):
        room = selectors.room_get_visible(user=request.user, slug=slug)
        if selectors.membership_of(user=request.user, room=room) is None:
            raise NotMember("Only members read a room's history; join it first.")
        limit = _query_int(request, "limit", minimum=1, maximum=HISTORY_MAX_LIMIT)
        limit = limit or HISTORY_DEFAULT_LIMIT
        before = _query_int(request, "before", minimum=0)
        after = _query_int(request, "after", minimum=0)
        if before is not None and after is not None:
            raise ValidationError({"detail": "Give 'before' or 'after', not both."})
        # One extra row tells whether another page exists, without a count query.
        if after is not None:
            page = selectors.message_page_after(
                room_id=room.pk, after_id=after, limit=limit + 1
            )
            has_more = len(page) > limit
            page = page[:limit]
            next_query = {"after": page[-1].pk} if has_more else None
            previous_query = {"before": page[0].pk} if page else {"before": after + 1}
        else:
            page = selectors.message_page_before(
                room_id=room.pk, before_id=before, limit=limit + 1
            )
            has_more = len(page) > limit
            page = page[:limit]
            next_query = {"before": page[-1].pk} if has_more else None
            if page:
                previous_query = {"after": page[0].pk}
            else:
                previous_query = {"after": before - 1} if before else None

        def link(query):
            if query is None:
                return None
            url = request.build_absolute_uri(request.path)
            return f"{url}?{urlencode({**query, 'limit': limit})}"

        return Response(
            {
                "next": link(next_query),
                "previous": link(previous_query),
                "results": [
                    protocol.message_object(m, room_slug=room.slug) for m in page
                ],
            }
        )
