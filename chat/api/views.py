"""REST views: parse the request, call a selector or service, answer. No rules here:
permissions live in the services and selectors, errors map in `chat.api.errors`."""

from urllib.parse import urlencode

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import StreamingHttpResponse
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from chat import attachments, presence, reactions, search, selectors, services
from chat.api import serializers
from chat.api.base import ChatAPIView
from chat.api.schema import NOT_BLANK_PATTERN
from chat.errors import InvalidInput, NotFound, NotMember
from chat.models import Message

HISTORY_DEFAULT_LIMIT = 50
HISTORY_MAX_LIMIT = 200
QUERY_INT_MAX_DIGITS = 18

# Integer query parameters as `_query_int` reads them.
ID_QUERY = {"type": "integer", "minimum": 0, "maximum": 10**QUERY_INT_MAX_DIGITS - 1}


def limit_query(maximum: int) -> dict:
    return {"type": "integer", "minimum": 1, "maximum": maximum}


def _query_int(request, name: str, *, minimum: int, maximum: int | None = None):
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > QUERY_INT_MAX_DIGITS:
        raise ValidationError(
            {name: _("'%(field)s' must be a whole number.") % {"field": name}}
        )
    value = int(raw)
    if value < minimum or (maximum is not None and value > maximum):
        if maximum is not None:
            detail = _("'%(field)s' must be from %(min)d to %(max)d.") % {
                "field": name,
                "min": minimum,
                "max": maximum,
            }
        else:
            detail = _("'%(field)s' must be >= %(min)d.") % {
                "field": name,
                "min": minimum,
            }
        raise ValidationError({name: detail})
    return value


def _valid(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _user(user_id: int):
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        raise NotFound(_("No such user."))
    return user


def _member_room(request, slug):
    """The room, if the caller is a member (404 private / 403 public otherwise)."""
    try:
        room, _membership = selectors.room_get_for_member(user=request.user, slug=slug)
    except NotMember:
        raise NotMember(_("Only members may do this; join the room first.")) from None
    return room


# ---- rooms --------------------------------------------------------------------------


class RoomListView(ChatAPIView):
    @extend_schema(responses=serializers.RoomSerializer(many=True))
    def get(self, request):
        rooms = selectors.room_list_for_user(user=request.user).select_related("owner")
        return Response(serializers.RoomSerializer(rooms, many=True).data)

    @extend_schema(
        request=serializers.RoomCreateSerializer,
        responses={201: serializers.RoomDetailSerializer},
    )
    def post(self, request):
        room = services.room_create(
            owner=request.user, **_valid(serializers.RoomCreateSerializer, request)
        )
        detail = selectors.room_detail(user=request.user, slug=room.slug)
        return Response(serializers.RoomDetailSerializer(detail).data, status=201)


class RoomDetailView(ChatAPIView):
    @extend_schema(responses=serializers.RoomDetailSerializer)
    def get(self, request, slug):
        room = selectors.room_detail(user=request.user, slug=slug)
        return Response(serializers.RoomDetailSerializer(room).data)

    @extend_schema(
        request=serializers.RoomUpdateSerializer,
        responses=serializers.RoomDetailSerializer,
    )
    def patch(self, request, slug):
        room = selectors.room_get_visible(user=request.user, slug=slug)
        services.room_update(
            room=room,
            actor=request.user,
            **_valid(serializers.RoomUpdateSerializer, request),
        )
        detail = selectors.room_detail(user=request.user, slug=slug)
        return Response(serializers.RoomDetailSerializer(detail).data)


class RoomJoinView(ChatAPIView):
    @extend_schema(request=None, responses=serializers.MemberSerializer)
    def post(self, request, slug):
        room = selectors.room_get_visible(user=request.user, slug=slug)
        membership = services.room_join(user=request.user, room=room)
        return Response(serializers.MemberSerializer(membership).data)


class RoomLeaveView(ChatAPIView):
    @extend_schema(request=None, responses={204: None})
    def post(self, request, slug):
        room = selectors.room_get_visible(user=request.user, slug=slug)
        services.room_leave(user=request.user, room=room)
        return Response(status=status.HTTP_204_NO_CONTENT)


# ---- members ------------------------------------------------------------------------


class MemberListView(ChatAPIView):
    @extend_schema(responses=serializers.MemberSerializer(many=True))
    def get(self, request, slug):
        room = selectors.room_get_visible(user=request.user, slug=slug)
        members = selectors.member_list(room=room)
        return Response(serializers.MemberSerializer(members, many=True).data)

    @extend_schema(
        request=serializers.MemberAddSerializer,
        responses={201: serializers.MemberSerializer},
    )
    def post(self, request, slug):
        room = selectors.room_get_visible(user=request.user, slug=slug)
        username = _valid(serializers.MemberAddSerializer, request)["username"]
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise NotFound(
                _("No user is called %(username)s.") % {"username": repr(username)}
            )
        membership = services.member_add(room=room, actor=request.user, user=user)
        return Response(serializers.MemberSerializer(membership).data, status=201)


class MemberDetailView(ChatAPIView):
    @extend_schema(
        request=serializers.MemberRoleSerializer, responses=serializers.MemberSerializer
    )
    def patch(self, request, slug, user_id):
        room = selectors.room_get_visible(user=request.user, slug=slug)
        role = _valid(serializers.MemberRoleSerializer, request)["role"]
        membership = services.member_set_role(
            room=room, actor=request.user, user=_user(user_id), role=role
        )
        return Response(serializers.MemberSerializer(membership).data)

    @extend_schema(responses={204: None})
    def delete(self, request, slug, user_id):
        room = selectors.room_get_visible(user=request.user, slug=slug)
        services.member_remove(room=room, actor=request.user, user=_user(user_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MemberMuteView(ChatAPIView):
    @extend_schema(
        request=serializers.MuteSerializer, responses=serializers.MemberSerializer
    )
    def post(self, request, slug, user_id):
        room = selectors.room_get_visible(user=request.user, slug=slug)
        data = _valid(serializers.MuteSerializer, request)
        membership = services.member_mute(
            room=room,
            actor=request.user,
            user=_user(user_id),
            minutes=data["minutes"],
            reason=data.get("reason", ""),
        )
        return Response(serializers.MemberSerializer(membership).data)


class MemberUnmuteView(ChatAPIView):
    @extend_schema(request=None, responses=serializers.MemberSerializer)
    def post(self, request, slug, user_id):
        room = selectors.room_get_visible(user=request.user, slug=slug)
        membership = services.member_unmute(
            room=room, actor=request.user, user=_user(user_id)
        )
        return Response(serializers.MemberSerializer(membership).data)


class MemberBanView(ChatAPIView):
    @extend_schema(request=serializers.ReasonSerializer, responses={204: None})
    def post(self, request, slug, user_id):
        room = selectors.room_get_visible(user=request.user, slug=slug)
        reason = _valid(serializers.ReasonSerializer, request).get("reason", "")
        services.member_ban(
            room=room, actor=request.user, user=_user(user_id), reason=reason
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class MemberUnbanView(ChatAPIView):
    @extend_schema(request=None, responses={204: None})
    def post(self, request, slug, user_id):
        room = selectors.room_get_visible(user=request.user, slug=slug)
        services.member_unban(room=room, actor=request.user, user=_user(user_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class PresenceView(ChatAPIView):
    @extend_schema(responses=serializers.PresenceSerializer)
    def get(self, request, slug):
        room = _member_room(request, slug)
        return Response({"online": presence.online_users(room_id=room.pk)})


# ---- messages -----------------------------------------------------------------------


class RoomMessagesView(ChatAPIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "before", ID_QUERY, description="only messages with a smaller id"
            ),
            OpenApiParameter(
                "after", ID_QUERY, description="only larger ids, oldest first"
            ),
            OpenApiParameter(
                "order",
                str,
                enum=["newest", "oldest"],
                description="newest or oldest first (default: oldest with `after`, "
                "else newest); a page's links keep its order",
            ),
            OpenApiParameter(
                "limit",
                limit_query(HISTORY_MAX_LIMIT),
                description=f"1..{HISTORY_MAX_LIMIT}, default {HISTORY_DEFAULT_LIMIT}",
            ),
        ],
        responses=serializers.MessagePageSerializer,
    )
    def get(self, request, slug):
        """History: newest first, or oldest first after `?after=` (or `?order=`)."""
        room = _member_room(request, slug)
        limit = _query_int(request, "limit", minimum=1, maximum=HISTORY_MAX_LIMIT)
        limit = limit or HISTORY_DEFAULT_LIMIT
        before = _query_int(request, "before", minimum=0)
        after = _query_int(request, "after", minimum=0)
        if before is not None and after is not None:
            raise ValidationError({"detail": _("Give 'before' or 'after', not both.")})
        order = request.query_params.get("order")
        if order not in (None, "newest", "oldest"):
            raise ValidationError({"order": _("'order' must be 'newest' or 'oldest'.")})
        # Both directions are bounded by the room's newest id: without the bound,
        # PostgreSQL may walk the primary key through other rooms' newer rows when
        # a big room is quiet (docs/history-query-plan.md).
        newest = room.last_message_id
        # One extra row tells whether another page exists, without a count query.
        if after is not None:
            page = selectors.message_page_after(
                room_id=room.pk, after_id=after, up_to_id=newest, limit=limit + 1
            )
            has_more = len(page) > limit
            page = page[:limit]
            newer_query = {"after": page[-1].pk} if has_more else None
            older_query = {"before": page[0].pk} if page else {"before": after + 1}
            newest_first = order == "newest"
            if newest_first:
                page.reverse()
        else:
            page = selectors.message_page_before(
                room_id=room.pk,
                before_id=min(before, newest + 1) if before is not None else newest + 1,
                limit=limit + 1,
            )
            has_more = len(page) > limit
            page = page[:limit]
            older_query = {"before": page[-1].pk} if has_more else None
            if page:
                newer_query = {"after": page[0].pk}
            else:
                newer_query = {"after": before - 1} if before else None
            newest_first = order != "oldest"
            if not newest_first:
                page.reverse()
        # A page's links keep its order: `next` goes on the way it reads (older when
        # newest first), `previous` back the other way, and says the order when it
        # is not that query's default.
        if newest_first:
            next_query = older_query
            previous_query = newer_query and {**newer_query, "order": "newest"}
        else:
            next_query = newer_query
            previous_query = older_query and {**older_query, "order": "oldest"}

        def link(query):
            if query is None:
                return None
            url = request.build_absolute_uri(request.path)
            return f"{url}?{urlencode({**query, 'limit': limit})}"

        return Response(
            {
                "next": link(next_query),
                "previous": link(previous_query),
                "results": serializers.MessageSerializer(
                    page, many=True, context={"room_slug": room.slug}
                ).data,
            }
        )

    @extend_schema(
        request=serializers.MessageCreateSerializer,
        responses={
            201: serializers.MessageSerializer,
            200: serializers.MessageSerializer,
        },
    )
    def post(self, request, slug):
        """Post a message: the same rules and broadcast as the socket's message.send.
        A resent client_id answers 200 with the stored message."""
        room = _member_room(request, slug)
        data = _valid(serializers.MessageCreateSerializer, request)
        message, created = services.message_create(
            room=room,
            author=request.user,
            body=data["body"],
            client_id=data["client_id"],
            attachment_ids=data.get("attachments", ()),
        )
        return Response(
            serializers.MessageSerializer(message).data, status=201 if created else 200
        )


class MessageDetailView(ChatAPIView):
    def _message(self, request, message_id) -> Message:
        message = selectors.message_get_readable(
            user=request.user, message_id=message_id
        )
        if message is None:
            raise NotFound(_("No such message."))
        return message

    @extend_schema(
        request=serializers.MessageEditSerializer,
        responses=serializers.MessageSerializer,
    )
    def patch(self, request, message_id):
        message = self._message(request, message_id)
        body = _valid(serializers.MessageEditSerializer, request)["body"]
        message = services.message_edit(message=message, editor=request.user, body=body)
        return Response(serializers.MessageSerializer(message).data)

    @extend_schema(responses={204: None})
    def delete(self, request, message_id):
        message = self._message(request, message_id)
        services.message_delete(message=message, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RoomReadView(ChatAPIView):
    @extend_schema(request=serializers.ReadSerializer, responses={204: None})
    def post(self, request, slug):
        """Move the caller's read marker forward (never back), as `read` does."""
        room = _member_room(request, slug)
        last_id = _valid(serializers.ReadSerializer, request)["last_id"]
        services.membership_mark_read(user=request.user, room=room, last_id=last_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


# ---- direct conversations -----------------------------------------------------------


class DirectListView(ChatAPIView):
    @extend_schema(responses=serializers.DirectSerializer(many=True))
    def get(self, request):
        """The caller's direct conversations, most recently active first."""
        rooms = selectors.direct_list_for_user(user=request.user)
        return Response(serializers.DirectSerializer(rooms, many=True).data)

    @extend_schema(
        request=serializers.DirectOpenSerializer,
        responses={
            201: serializers.DirectSerializer,
            200: serializers.DirectSerializer,
            404: OpenApiResponse(description="No user has that name."),
        },
    )
    def post(self, request):
        """Open the conversation with `username` (201) or find it (200)."""
        username = _valid(serializers.DirectOpenSerializer, request)["username"]
        room, created = services.direct_open_by_username(
            user=request.user, username=username
        )
        return Response(
            serializers.DirectSerializer(room).data, status=201 if created else 200
        )


# ---- users --------------------------------------------------------------------------


class UserNotifyView(ChatAPIView):
    @extend_schema(request=serializers.NotifySerializer, responses={202: None})
    def post(self, request, user_id):
        data = _valid(serializers.NotifySerializer, request)["data"]
        services.user_notify(actor=request.user, user=_user(user_id), data=data)
        return Response(status=status.HTTP_202_ACCEPTED)


# ---- attachments --------------------------------------------------------------------


class RoomAttachmentsView(ChatAPIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": serializers.AttachmentUploadSerializer},
        responses={201: serializers.AttachmentSerializer},
    )
    def post(self, request, slug):
        """Upload a file (multipart field `file`) for your next message here; send
        its id in the message's `attachments`."""
        room = _member_room(request, slug)
        upload = request.FILES.get("file")
        if upload is None:
            raise InvalidInput(_("Send the file in the multipart field 'file'."))
        attachment = attachments.attachment_upload(
            room=room, uploader=request.user, file=upload
        )
        return Response(serializers.AttachmentSerializer(attachment).data, status=201)


class AnyAcceptNegotiation(BaseContentNegotiation):
    """The answer is a file whatever the Accept header says (an <img> asks for
    image/*); DRF's renderers only render the JSON of refusals."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class StorageFileStream:
    """An open storage file as an async iterator of blocks. Under ASGI FileResponse
    would read the whole file into memory on the thread that also stores messages;
    here each block is read on a worker thread. Django calls close() at the end."""

    block_size = 256 * 1024

    def __init__(self, file):
        self.file = file

    def __aiter__(self):
        return self

    async def __anext__(self) -> bytes:
        read = sync_to_async(self.file.read, thread_sensitive=False)
        block = await read(self.block_size)
        if not block:
            raise StopAsyncIteration
        return block

    def close(self):
        self.file.close()


# Never run in our origin: a document opened from here has no scripts, no plugins
# and an origin of its own; an image may still show itself.
ATTACHMENT_CSP = "sandbox; default-src 'none'"
IMAGE_CSP = f"{ATTACHMENT_CSP}; img-src 'self'; style-src 'unsafe-inline'"


class AttachmentDownloadView(ChatAPIView):
    content_negotiation_class = AnyAcceptNegotiation

    @extend_schema(
        responses={
            (200, content_type): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="the file, with the Content-Type the server decided",
            )
            for content_type in attachments.NAME_EXTENSIONS
        }
    )
    def get(self, request, attachment_id, name):
        """An attachment's file, to members of its room. Images are shown inline,
        everything else is a download; `name` is for people, the id decides."""
        attachment = selectors.attachment_get_readable(
            user=request.user, attachment_id=attachment_id
        )
        if attachment is None:
            raise NotFound(_("No such attachment."))
        try:
            file = attachment.file.open("rb")
        except FileNotFoundError:
            raise NotFound(_("No such attachment.")) from None
        content_type = attachment.content_type
        if content_type == "text/plain":
            content_type = "text/plain; charset=utf-8"  # checked to be UTF-8
        response = StreamingHttpResponse(
            StorageFileStream(file), content_type=content_type
        )
        response["Content-Length"] = str(attachment.size)
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=not attachment.is_image, filename=attachment.original_name
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = (
            IMAGE_CSP if attachment.is_image else ATTACHMENT_CSP
        )
        # Other sites cannot embed it with the visitor's cookies.
        response["Cross-Origin-Resource-Policy"] = "same-origin"
        # The bytes never change, but who may read them does (a ban, a deletion):
        # the browser may keep them for an hour, no shared cache at all.
        patch_cache_control(response, private=True, max_age=3600)
        patch_vary_headers(response, ["Cookie", "Authorization"])
        return response


# ---- edits and reactions ------------------------------------------------------------


def _readable_message(request, message_id) -> Message:
    message = selectors.message_get_readable(user=request.user, message_id=message_id)
    if message is None:
        raise NotFound(_("No such message."))
    return message


class MessageRevisionsView(ChatAPIView):
    @extend_schema(responses=serializers.MessageVersionSerializer(many=True))
    def get(self, request, message_id):
        """Every text the message has had, oldest first, the current one last:
        for the room's owner and moderators, and staff."""
        message = _readable_message(request, message_id)
        revisions = selectors.message_revision_list(user=request.user, message=message)
        return Response(serializers.message_versions(message, revisions))


class MessageReactionsView(ChatAPIView):
    @extend_schema(
        request=serializers.ReactionSerializer,
        responses={
            201: serializers.MessageSerializer,
            200: serializers.MessageSerializer,
        },
    )
    def post(self, request, message_id):
        """Add the caller's reaction: 201 with the message, or 200 when it was
        already there (nothing changes, nothing is broadcast)."""
        message = _readable_message(request, message_id)
        emoji = _valid(serializers.ReactionSerializer, request)["emoji"]
        created = reactions.reaction_add(
            message=message, user=request.user, emoji=emoji
        )
        return Response(
            serializers.MessageSerializer(message).data, status=201 if created else 200
        )


class MessageReactionView(ChatAPIView):
    @extend_schema(responses={204: None})
    def delete(self, request, message_id, emoji):
        """Remove the caller's reaction (204 whether or not it was there)."""
        message = _readable_message(request, message_id)
        reactions.reaction_remove(message=message, user=request.user, emoji=emoji)
        return Response(status=status.HTTP_204_NO_CONTENT)


# ---- search -------------------------------------------------------------------------

SEARCH_DEFAULT_LIMIT = 20
SEARCH_MAX_LIMIT = 100


class SearchView(ChatAPIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "q",
                {
                    "type": "string",
                    "pattern": NOT_BLANK_PATTERN,
                    "maxLength": settings.CHAT_SEARCH_QUERY_MAX_CHARS,
                },
                required=True,
                description="the words to find, all of them",
            ),
            OpenApiParameter(
                "room",
                serializers.ROOM_SLUG_SCHEMA,
                description="only this room (a slug)",
            ),
            OpenApiParameter("before", ID_QUERY, description="only smaller ids"),
            OpenApiParameter(
                "limit",
                limit_query(SEARCH_MAX_LIMIT),
                description=f"1..{SEARCH_MAX_LIMIT}, default {SEARCH_DEFAULT_LIMIT}",
            ),
        ],
        responses={
            200: serializers.SearchPageSerializer,
            404: OpenApiResponse(description="No such room (`room_not_found`)."),
        },
    )
    def get(self, request):
        """Messages of the caller's rooms matching every term of `q`, newest first."""
        query = request.query_params.get("q", "")
        limit = _query_int(request, "limit", minimum=1, maximum=SEARCH_MAX_LIMIT)
        limit = limit or SEARCH_DEFAULT_LIMIT
        before = _query_int(request, "before", minimum=0)
        slug = request.query_params.get("room") or None
        room = _member_room(request, slug) if slug is not None else None
        # One extra row tells whether another page exists, without a count query.
        page = search.message_search(
            user=request.user, query=query, room=room, before=before, limit=limit + 1
        )
        next_url = None
        if len(page) > limit:
            page = page[:limit]
            next_query = {"q": query, "before": page[-1].pk, "limit": limit}
            if slug is not None:
                next_query["room"] = slug
            url = request.build_absolute_uri(request.path)
            next_url = f"{url}?{urlencode(next_query)}"
        return Response(
            {
                "next": next_url,
                "results": serializers.SearchResultSerializer(page, many=True).data,
            }
        )
