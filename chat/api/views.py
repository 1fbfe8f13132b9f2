"""REST views: parse the request, call a selector or service, answer. No rules here:
permissions live in the services and selectors, errors map in `chat.api.errors`."""

from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from chat import presence, selectors, services
from chat.api import serializers
from chat.api.base import ChatAPIView
from chat.errors import NotFound, NotMember
from chat.models import Message

HISTORY_DEFAULT_LIMIT = 50
HISTORY_MAX_LIMIT = 200


def _query_int(request, name: str, *, minimum: int, maximum: int | None = None):
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise ValidationError({name: f"'{name}' must be a whole number."})
    value = int(raw)
    if value < minimum or (maximum is not None and value > maximum):
        bound = (
            f"from {minimum} to {maximum}" if maximum is not None else f">= {minimum}"
        )
        raise ValidationError({name: f"'{name}' must be {bound}."})
    return value


def _valid(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _user(user_id: int):
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        raise NotFound("No such user.")
    return user


def _member_room(request, slug):
    """The room, if the caller is a member (404 private / 403 public otherwise)."""
    room = selectors.room_get_visible(user=request.user, slug=slug)
    if selectors.membership_of(user=request.user, room=room) is None:
        raise NotMember("Only members may do this; join the room first.")
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
            raise NotFound(f"No user is called {username!r}.")
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
                "before", int, description="only messages with a smaller id"
            ),
            OpenApiParameter("after", int, description="only larger ids, oldest first"),
            OpenApiParameter("limit", int, description="1..200, default 50"),
        ],
        responses=serializers.MessagePageSerializer,
    )
    def get(self, request, slug):
        """History: newest first, or oldest first after `?after=`."""
        room = _member_room(request, slug)
        limit = _query_int(request, "limit", minimum=1, maximum=HISTORY_MAX_LIMIT)
        limit = limit or HISTORY_DEFAULT_LIMIT
        before = _query_int(request, "before", minimum=0)
        after = _query_int(request, "after", minimum=0)
        if before is not None and after is not None:
            raise ValidationError({"detail": "Give 'before' or 'after', not both."})
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
            next_query = {"after": page[-1].pk} if has_more else None
            previous_query = {"before": page[0].pk} if page else {"before": after + 1}
        else:
            page = selectors.message_page_before(
                room_id=room.pk,
                before_id=min(before, newest + 1) if before is not None else newest + 1,
                limit=limit + 1,
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
            raise NotFound("No such message.")
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


# ---- users --------------------------------------------------------------------------


class UserNotifyView(ChatAPIView):
    @extend_schema(request=serializers.NotifySerializer, responses={202: None})
    def post(self, request, user_id):
        data = _valid(serializers.NotifySerializer, request)["data"]
        services.user_notify(actor=request.user, user=_user(user_id), data=data)
        return Response(status=status.HTTP_202_ACCEPTED)
