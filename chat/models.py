"""The chat data: rooms, who belongs to them, and the messages posted in them.

Models hold data and small derived names only; every state change goes through
`chat.services`, which also broadcasts it. Names and labels are translatable (the
admin shows them in the user's language); choice values never are.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from chat.events import room_group_name


class Room(models.Model):
    class Kind(models.TextChoices):
        ROOM = "room", _("room")
        # A private two-person conversation (chat.services.direct_open): always
        # private, exactly two members, neither of whom moderates the other.
        DIRECT = "direct", _("direct message")

    slug = models.SlugField(_("slug"), max_length=64, unique=True, allow_unicode=True)
    kind = models.CharField(
        _("kind"), max_length=8, choices=Kind.choices, default=Kind.ROOM
    )
    name = models.CharField(_("name"), max_length=100)
    topic = models.CharField(_("topic"), max_length=300, blank=True)
    is_private = models.BooleanField(_("is private"), default=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="owned_rooms",
        verbose_name=_("owner"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # Id of the newest message, kept under the room's row lock by `message_create`.
    # It answers `subscribed.last_id` without a scan, and it is each broadcast's
    # `prev_id`, which lets a socket notice a message it has not seen.
    last_message_id = models.BigIntegerField(_("last message id"), default=0)
    # Messages ever stored in the room (deleted ones too), moved with
    # last_message_id: the newest message's `position`. Unread badges are counted
    # from positions, never by scanning history (chat.selectors).
    message_count = models.BigIntegerField(_("message count"), default=0, db_default=0)

    class Meta:
        ordering = ["name"]
        verbose_name = _("room")
        verbose_name_plural = _("rooms")

    def __str__(self) -> str:
        return self.slug

    @property
    def group_name(self) -> str:
        return room_group_name(self.pk)


class Membership(models.Model):
    class Role(models.TextChoices):
        MEMBER = "member", _("member")
        MODERATOR = "moderator", _("moderator")
        OWNER = "owner", _("owner")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("user"),
    )
    room = models.ForeignKey(
        Room,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("room"),
    )
    role = models.CharField(
        _("role"), max_length=16, choices=Role.choices, default=Role.MEMBER
    )
    joined_at = models.DateTimeField(_("joined at"), auto_now_add=True)
    # The newest message id the member has read; it only moves forward.
    last_read_id = models.BigIntegerField(_("last read id"), default=0)
    # The `position` of the newest message at or before last_read_id (0: none),
    # and how many of the member's own messages come after last_read_id: with the
    # room's message_count they give the unread count without a scan.
    read_position = models.BigIntegerField(_("read position"), default=0, db_default=0)
    sent_after_read = models.BigIntegerField(
        _("own messages after read"), default=0, db_default=0
    )
    # Sends are refused with `muted` until this moment (null: not muted).
    muted_until = models.DateTimeField(_("muted until"), null=True, blank=True)
    mute_reason = models.CharField(_("mute reason"), max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["room", "user"], name="membership_unique")
        ]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self) -> str:
        return f"{self.user} in {self.room} ({self.role})"

    def is_muted(self, *, at) -> bool:
        """Whether sends are refused at this moment (chat.message_store mirrors this
        in SQL)."""
        return self.muted_until is not None and self.muted_until > at


class Message(models.Model):
    room = models.ForeignKey(
        Room, on_delete=models.CASCADE, related_name="messages", verbose_name=_("room")
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="messages",
        verbose_name=_("author"),
    )
    body = models.TextField(_("body"))
    client_id = models.CharField(_("client id"), max_length=64)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    edited_at = models.DateTimeField(_("edited at"), null=True, blank=True)
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True)
    # 1, 2, 3... within the room, in id order (Room.message_count when stored).
    position = models.BigIntegerField(_("position"), default=0, db_default=0)

    class Meta:
        ordering = ["id"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [
            # The idempotency key: resending a client_id in a room creates nothing.
            models.UniqueConstraint(
                fields=["room", "author", "client_id"], name="message_client_id_unique"
            )
        ]
        indexes = [
            # "Newest 50 of a room" and "after id N in a room" are both a range scan
            # of this index; visible messages only, so deletions never slow paging.
            models.Index(
                fields=["room", "id"],
                name="message_room_visible_idx",
                condition=Q(deleted_at__isnull=True),
            ),
            # Deleted messages after a read marker are taken off the unread count:
            # few rows, so this index stays small.
            models.Index(
                fields=["room", "id"],
                name="message_room_deleted_idx",
                condition=Q(deleted_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} in {self.room_id} by {self.author_id}"


class RoomBan(models.Model):
    """A user removed from a room who may not rejoin it until unbanned."""

    room = models.ForeignKey(
        Room, on_delete=models.CASCADE, related_name="bans", verbose_name=_("room")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="room_bans",
        verbose_name=_("user"),
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    banned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("banned by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["room", "user"], name="ban_unique")
        ]
        verbose_name = _("room ban")
        verbose_name_plural = _("room bans")

    def __str__(self) -> str:
        return f"{self.user} banned from {self.room}"


class ModerationAction(models.Model):
    """The audit log: one row per moderation action, written by the services."""

    class Kind(models.TextChoices):
        MESSAGE_DELETE = "message_delete", _("message deleted")
        MESSAGE_RESTORE = "message_restore", _("message restored")
        MESSAGE_EDIT = "message_edit", _("message edited by staff")
        MEMBER_ADD = "member_add", _("member added")
        MEMBER_REMOVE = "member_remove", _("member removed")
        MEMBER_ROLE = "member_role", _("role changed")
        MEMBER_MUTE = "member_mute", _("member muted")
        MEMBER_UNMUTE = "member_unmute", _("member unmuted")
        MEMBER_BAN = "member_ban", _("member banned")
        MEMBER_UNBAN = "member_unban", _("member unbanned")
        USER_DEACTIVATE = "user_deactivate", _("user deactivated")
        ROOM_UPDATE = "room_update", _("room updated")

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    room = models.ForeignKey(
        Room,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        verbose_name=_("room"),
    )
    target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("target user"),
    )
    target_message = models.ForeignKey(
        Message,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("target message"),
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("moderation action")
        verbose_name_plural = _("moderation actions")

    def __str__(self) -> str:
        return f"{self.kind} by {self.actor_id} at {self.created_at:%Y-%m-%d %H:%M}"


# The extension a stored file gets for each allowed type (chat.attachments decides
# the type from the content).
ATTACHMENT_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "application/pdf": ".pdf",
    "text/plain": ".txt",
}


def attachment_storage_name(attachment, filename: str) -> str:
    """A random storage name; the client's file name never reaches the storage.

    Sharded by the first two hex digits so that no directory grows without bound;
    the extension is the one of the server-decided type.
    """
    token = uuid.uuid4().hex
    extension = ATTACHMENT_EXTENSIONS.get(attachment.content_type, "")
    return f"attachments/{token[:2]}/{token}{extension}"


class Attachment(models.Model):
    """An uploaded file: first unattached (message null), then part of one message.

    Written only by `chat.attachments`; the file itself lives in the default storage
    under a random name and is served by `chat.views.attachment_download`.
    """

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="+")
    uploader = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    message = models.ForeignKey(
        Message,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="attachments",
    )
    file = models.FileField(upload_to=attachment_storage_name, max_length=100)
    # Shown to people and offered as the download's file name; cleaned, capped.
    original_name = models.CharField(max_length=150)
    # Decided by the server from the file's content, never the client's claim.
    content_type = models.CharField(max_length=32)
    size = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # The clean-up of stale uploads reads only unattached rows, oldest first.
            models.Index(
                fields=["created_at"],
                name="attachment_unattached_idx",
                condition=Q(message__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.content_type}, {self.size} B)"

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


class MessageRevision(models.Model):
    """A message's text as it was before one edit; every edit keeps one.

    The current text is on the message; its earlier versions are these rows, oldest
    first, each replaced at `created_at` by `editor`.
    """

    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="revisions"
    )
    body = models.TextField(_("text before the edit"))
    editor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("edited by"),
    )
    created_at = models.DateTimeField(_("replaced at"))

    class Meta:
        ordering = ["id"]
        verbose_name = _("revision")
        verbose_name_plural = _("revisions")

    def __str__(self) -> str:
        return f"revision of #{self.message_id} at {self.created_at:%Y-%m-%d %H:%M}"


class Reaction(models.Model):
    """One user's emoji on one message (a user may add several different ones)."""

    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="reactions"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reactions"
    )
    # One emoji grapheme (chat.reactions.emoji_clean): at most 32 code points.
    emoji = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # Id order is reaction order: the message object lists emoji by their first
        # reaction and users in the order they reacted.
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["message", "user", "emoji"], name="reaction_unique"
            )
        ]
        verbose_name = _("reaction")
        verbose_name_plural = _("reactions")

    def __str__(self) -> str:
        return f"{self.emoji} on #{self.message_id} by {self.user_id}"


class Mention(models.Model):
    """A room member named as `@username` in a message (chat.mentions writes these).

    A row also records that the user was told: an edit that removes the mention only
    clears `in_body`, so adding it back later does not notify the user a second time.
    """

    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="mentions"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mentions"
    )
    in_body = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["message", "user"], name="mention_message_user_unique"
            )
        ]
        indexes = [
            # The room list's unread-mention badge: a user's mentions after a marker.
            models.Index(fields=["user", "message"], name="mention_user_message_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in #{self.message_id}"
