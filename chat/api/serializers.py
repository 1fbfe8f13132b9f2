"""REST request and response shapes. Messages use the protocol's message object."""

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from chat import protocol
from chat.models import Membership, Room
from chat.protocol import ATTACHMENT_IDS_MAX, CLIENT_ID_MAX_CHARS
from chat.reactions import EMOJI_MAX_CHARS, EMOJI_PATTERN

# A room's slug: a Django unicode slug (Room.slug), or a direct conversation's
# `dm.<low id>.<high id>` (services.direct_slug).
ROOM_SLUG_MAX_CHARS = Room._meta.get_field("slug").max_length
ROOM_SLUG_PATTERN = r"^(?:[-\w]+|dm\.[0-9]+\.[0-9]+)$"
ROOM_SLUG_SCHEMA = {
    "type": "string",
    "pattern": ROOM_SLUG_PATTERN,
    "maxLength": ROOM_SLUG_MAX_CHARS,
}
EMOJI_SCHEMA = {
    "type": "string",
    "pattern": EMOJI_PATTERN,
    "maxLength": EMOJI_MAX_CHARS,
}


class TextOnly:
    """A string and nothing else: DRF would turn 5 into "5"; the socket refuses it."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(TextOnly, serializers.CharField):
    """DRF's text field, for JSON strings only."""


class StrictSlugField(TextOnly, serializers.SlugField):
    """DRF's slug field, for JSON strings only."""


# The largest id a row can have (BigAutoField) and the largest integer a request
# field takes: larger ones are a 400, never a database error.
LARGEST_INTEGER = 2**63 - 1


class StrictIntegerField(serializers.IntegerField):
    """An integer and nothing else: DRF would take "5", 5.0 or a float's digits.
    At most LARGEST_INTEGER unless a smaller maximum is given."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_value", LARGEST_INTEGER)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if type(data) is not int:
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """true or false and nothing else: DRF would also take "yes", 1 or "off"."""

    def to_internal_value(self, data):
        if type(data) is not bool:
            self.fail("invalid")
        return data


class UserSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)


class RoomSerializer(serializers.ModelSerializer):
    slug = serializers.RegexField(ROOM_SLUG_PATTERN, read_only=True)
    owner = UserSerializer(read_only=True)
    is_member = serializers.SerializerMethodField()
    unread_count = serializers.SerializerMethodField()
    mention_count = serializers.SerializerMethodField()

    class Meta:
        model = Room
        fields = [
            "slug",
            "name",
            "kind",
            "topic",
            "is_private",
            "owner",
            "created_at",
            "is_member",
            "unread_count",
            "mention_count",
        ]

    def get_is_member(self, room) -> bool:
        return bool(getattr(room, "is_member", False))

    def get_unread_count(self, room) -> int:
        return int(getattr(room, "unread_count", 0) or 0)

    def get_mention_count(self, room) -> int:
        return int(getattr(room, "mention_count", 0) or 0)


class RoomDetailSerializer(RoomSerializer):
    member_count = serializers.IntegerField(read_only=True)
    last_message_id = serializers.IntegerField(read_only=True)

    class Meta(RoomSerializer.Meta):
        fields = [*RoomSerializer.Meta.fields, "member_count", "last_message_id"]


class RoomCreateSerializer(serializers.Serializer):
    slug = StrictSlugField(max_length=ROOM_SLUG_MAX_CHARS, allow_unicode=True)
    name = StrictCharField(max_length=100)
    topic = StrictCharField(max_length=300, required=False, allow_blank=True)
    is_private = StrictBooleanField(required=False, default=False)


class RoomUpdateSerializer(serializers.Serializer):
    name = StrictCharField(max_length=100, required=False)
    topic = StrictCharField(max_length=300, required=False, allow_blank=True)


class MemberSerializer(serializers.ModelSerializer):
    user = UserSerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ["user", "role", "joined_at", "muted_until"]


class MemberAddSerializer(serializers.Serializer):
    username = StrictCharField(max_length=150)


class MemberRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=["member", "moderator"])


class MuteSerializer(serializers.Serializer):
    minutes = StrictIntegerField(min_value=1, max_value=60 * 24 * 365)
    reason = StrictCharField(max_length=300, required=False, allow_blank=True)


class ReasonSerializer(serializers.Serializer):
    reason = StrictCharField(max_length=300, required=False, allow_blank=True)


class AttachmentSerializer(serializers.Serializer):
    """Documents the protocol's attachment object (`protocol.attachment_object`)."""

    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    size = serializers.IntegerField(read_only=True)
    content_type = serializers.CharField(read_only=True)
    is_image = serializers.BooleanField(read_only=True)
    url = serializers.CharField(read_only=True)

    def to_representation(self, attachment):
        return protocol.attachment_object(attachment)


class ReactionGroupSerializer(serializers.Serializer):
    """Documents one entry of the message object's `reactions`."""

    emoji = serializers.CharField(read_only=True)
    count = serializers.IntegerField(read_only=True)
    users = UserSerializer(many=True, read_only=True)


class MessageSerializer(serializers.Serializer):
    """Documents the protocol's message object; `to_representation` builds it."""

    id = serializers.IntegerField(read_only=True)
    room = serializers.CharField(read_only=True)
    author = UserSerializer(read_only=True)
    body = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    edited_at = serializers.DateTimeField(read_only=True, allow_null=True)
    client_id = serializers.CharField(read_only=True)
    attachments = AttachmentSerializer(many=True, read_only=True)
    reactions = ReactionGroupSerializer(many=True, read_only=True)
    mentions = UserSerializer(many=True, read_only=True)

    def to_representation(self, message):
        # A page passes its room's slug so that no message loads its room again.
        return protocol.message_object(message, room_slug=self.context.get("room_slug"))


class MessagePageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = MessageSerializer(many=True)


class ServiceCheckedTextField(StrictCharField):
    """Text that a service checks, as the socket's does: sent untrimmed, and "" too,
    so that the service refuses it with its own code. Not blank for the schema,
    which says what the service accepts."""

    def __init__(self, **kwargs):
        super().__init__(trim_whitespace=False, **kwargs)

    def run_validation(self, data=serializers.empty):
        if data == "":
            return data
        return super().run_validation(data)


@extend_schema_field(
    {
        "type": "string",
        # Something besides white space and control characters (which the service
        # removes), and no U+0000 (which DRF refuses).
        "pattern": r"^[^\x00]*[^\s\x00-\x1f\x7f-\x9f][^\x00]*$",
        # Counted after that (a raw maxLength would refuse what the server takes).
        "description": f"at most {settings.CHAT_BODY_MAX_CHARS} characters once "
        "stored: without control characters, `\\r\\n` as `\\n`, trimmed",
    }
)
class MessageBodyField(ServiceCheckedTextField):
    """A message's text. Length and emptiness are the service's rules (after
    control characters go and the text is trimmed), not the field's."""


@extend_schema_field(EMOJI_SCHEMA)
class EmojiField(ServiceCheckedTextField):
    """One emoji. What counts as one is the service's rule (code `invalid_emoji`),
    the same for the socket's `reaction.add`."""


class MessageCreateSerializer(serializers.Serializer):
    body = MessageBodyField()
    client_id = StrictCharField(
        min_length=1, max_length=CLIENT_ID_MAX_CHARS, trim_whitespace=False
    )
    # Ids of the caller's uploads (POST .../attachments/); how many and whose are
    # the service's rules.
    attachments = serializers.ListField(
        child=StrictIntegerField(min_value=1),
        required=False,
        max_length=ATTACHMENT_IDS_MAX,
    )


class MessageEditSerializer(serializers.Serializer):
    body = MessageBodyField()


class PresenceSerializer(serializers.Serializer):
    online = UserSerializer(many=True)


class NotifySerializer(serializers.Serializer):
    data = serializers.DictField()


class TokenRequestSerializer(serializers.Serializer):
    """Documents DRF's AuthTokenSerializer, which checks the request."""

    username = StrictCharField()
    password = StrictCharField(style={"input_type": "password"}, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


class DirectSerializer(serializers.Serializer):
    """A direct conversation as a list shows it: the protocol's room summary."""

    slug = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    kind = serializers.CharField(read_only=True)
    is_private = serializers.BooleanField(read_only=True)
    last_message_id = serializers.IntegerField(read_only=True)
    unread_count = serializers.IntegerField(read_only=True)
    peer = UserSerializer(read_only=True)

    def to_representation(self, room):
        return protocol.room_summary(
            room, peer=room.peer, unread_count=getattr(room, "unread_count", 0)
        )


class DirectOpenSerializer(serializers.Serializer):
    username = StrictCharField(max_length=150)


class ReadSerializer(serializers.Serializer):
    last_id = StrictIntegerField(min_value=0)


class AttachmentUploadSerializer(serializers.Serializer):
    file = serializers.FileField()


class ReactionSerializer(serializers.Serializer):
    emoji = EmojiField()


class MessageVersionSerializer(serializers.Serializer):
    """One version of a message's text; `message_versions` builds them."""

    body = serializers.CharField(read_only=True)
    author = UserSerializer(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)
    replaced_at = serializers.DateTimeField(read_only=True, allow_null=True)

    def to_representation(self, version):
        return version


def message_versions(message, revisions) -> list[dict]:
    """Every text a message has had, oldest first, the current one last.

    A revision holds the text an edit replaced, when, and by whom; each version
    says who wrote it and from when to when it was the message's text.
    """
    texts = [revision.body for revision in revisions] + [message.body]
    authors = [message.author] + [revision.editor for revision in revisions]
    starts = [message.created_at] + [revision.created_at for revision in revisions]
    ends = [revision.created_at for revision in revisions] + [None]
    return [
        {
            "body": body,
            "author": protocol.user_object(author) if author is not None else None,
            "created_at": protocol.timestamp(start),
            "replaced_at": protocol.timestamp(end),
        }
        for body, author, start, end in zip(texts, authors, starts, ends, strict=True)
    ]


class SearchResultSerializer(MessageSerializer):
    """A message object found by search, with its room's name beside the slug."""

    room_name = serializers.CharField(read_only=True)

    def to_representation(self, message):
        return {**super().to_representation(message), "room_name": message.room.name}


class SearchPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    results = SearchResultSerializer(many=True)
