"""REST request and response shapes. Messages use the protocol's message object."""

from rest_framework import serializers

from chat import protocol
from chat.models import Membership, Room
from chat.protocol import CLIENT_ID_MAX_CHARS


class StrictCharField(serializers.CharField):
    """A string and nothing else: DRF would turn 5 into "5"; the socket refuses it."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class UserSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)


class RoomSerializer(serializers.ModelSerializer):
    owner = UserSerializer(read_only=True)
    is_member = serializers.SerializerMethodField()
    unread_count = serializers.SerializerMethodField()

    class Meta:
        model = Room
        fields = [
            "slug",
            "name",
            "topic",
            "is_private",
            "owner",
            "created_at",
            "is_member",
            "unread_count",
        ]

    def get_is_member(self, room) -> bool:
        return bool(getattr(room, "is_member", False))

    def get_unread_count(self, room) -> int:
        return int(getattr(room, "unread_count", 0) or 0)


class RoomDetailSerializer(RoomSerializer):
    member_count = serializers.IntegerField(read_only=True)
    last_message_id = serializers.IntegerField(read_only=True)

    class Meta(RoomSerializer.Meta):
        fields = [*RoomSerializer.Meta.fields, "member_count", "last_message_id"]


class RoomCreateSerializer(serializers.Serializer):
    slug = serializers.SlugField(max_length=64, allow_unicode=True)
    name = serializers.CharField(max_length=100)
    topic = serializers.CharField(max_length=300, required=False, allow_blank=True)
    is_private = serializers.BooleanField(required=False, default=False)


class RoomUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    topic = serializers.CharField(max_length=300, required=False, allow_blank=True)


class MemberSerializer(serializers.ModelSerializer):
    user = UserSerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ["user", "role", "joined_at", "muted_until"]


class MemberAddSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)


class MemberRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=["member", "moderator"])


class MuteSerializer(serializers.Serializer):
    minutes = serializers.IntegerField(min_value=1, max_value=60 * 24 * 365)
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True)


class MessageSerializer(serializers.Serializer):
    """Documents the protocol's message object; `to_representation` builds it."""

    id = serializers.IntegerField(read_only=True)
    room = serializers.CharField(read_only=True)
    author = UserSerializer(read_only=True)
    body = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    edited_at = serializers.DateTimeField(read_only=True, allow_null=True)
    client_id = serializers.CharField(read_only=True)

    def to_representation(self, message):
        # A page passes its room's slug so that no message loads its room again.
        return protocol.message_object(message, room_slug=self.context.get("room_slug"))


class MessagePageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = MessageSerializer(many=True)


class MessageCreateSerializer(serializers.Serializer):
    # Length and emptiness are the service's rules (after trimming), not the field's.
    body = StrictCharField(trim_whitespace=False, allow_blank=True)
    client_id = StrictCharField(
        min_length=1, max_length=CLIENT_ID_MAX_CHARS, trim_whitespace=False
    )


class MessageEditSerializer(serializers.Serializer):
    body = StrictCharField(trim_whitespace=False, allow_blank=True)


class PresenceSerializer(serializers.Serializer):
    online = UserSerializer(many=True)


class NotifySerializer(serializers.Serializer):
    data = serializers.DictField()


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"})


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()
