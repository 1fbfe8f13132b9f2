"""The chat data: rooms, who belongs to them, and the messages posted in them.

Models hold data and small derived names only; every state change goes through
`chat.services`, which also broadcasts it.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from chat.events import room_group_name


class Room(models.Model):
    slug = models.SlugField(max_length=64, unique=True, allow_unicode=True)
    name = models.CharField(max_length=100)
    topic = models.CharField(max_length=300, blank=True)
    is_private = models.BooleanField(default=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_rooms"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Id of the newest message, kept under the room's row lock by `message_create`.
    # It answers `subscribed.last_id` without a scan, and it is each broadcast's
    # `prev_id`, which lets a socket notice a message it has not seen.
    last_message_id = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.slug

    @property
    def group_name(self) -> str:
        return room_group_name(self.pk)


class Membership(models.Model):
    class Role(models.TextChoices):
        MEMBER = "member", "member"
        MODERATOR = "moderator", "moderator"
        OWNER = "owner", "owner"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(auto_now_add=True)
    # The newest message id the member has read; it only moves forward.
    last_read_id = models.BigIntegerField(default=0)
    # Sends are refused with `muted` until this moment (null: not muted).
    muted_until = models.DateTimeField(null=True, blank=True)
    mute_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["room", "user"], name="membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.room} ({self.role})"


class Message(models.Model):
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="messages"
    )
    body = models.TextField()
    client_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
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
        ]

    def __str__(self) -> str:
        return f"#{self.pk} in {self.room_id} by {self.author_id}"


class RoomBan(models.Model):
    """A user removed from a room who may not rejoin it until unbanned."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="bans")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="room_bans"
    )
    reason = models.CharField(max_length=300, blank=True)
    banned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["room", "user"], name="ban_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} banned from {self.room}"


class ModerationAction(models.Model):
    """The audit log: one row per moderation action, written by the services."""

    class Kind(models.TextChoices):
        MESSAGE_DELETE = "message_delete", "message deleted"
        MESSAGE_RESTORE = "message_restore", "message restored"
        MEMBER_ADD = "member_add", "member added"
        MEMBER_REMOVE = "member_remove", "member removed"
        MEMBER_ROLE = "member_role", "role changed"
        MEMBER_MUTE = "member_mute", "member muted"
        MEMBER_UNMUTE = "member_unmute", "member unmuted"
        MEMBER_BAN = "member_ban", "member banned"
        MEMBER_UNBAN = "member_unban", "member unbanned"
        USER_DEACTIVATE = "user_deactivate", "user deactivated"
        ROOM_UPDATE = "room_update", "room updated"

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    room = models.ForeignKey(Room, on_delete=models.SET_NULL, null=True, blank=True)
    target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    target_message = models.ForeignKey(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(max_length=300, blank=True)
    detail = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} by {self.actor_id} at {self.created_at:%Y-%m-%d %H:%M}"
