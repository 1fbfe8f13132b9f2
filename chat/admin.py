"""The Django admin for rooms, memberships and messages.

Messages are written through `chat.services` even here, so a message an admin posts,
edits or deletes is broadcast exactly like one from the socket or the API.
"""

from django import forms
from django.contrib import admin

from chat import selectors, services
from chat.errors import ChatError
from chat.models import Membership, Message, Room


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]
    fields = ["user", "role", "joined_at", "last_read_id"]
    readonly_fields = ["joined_at", "last_read_id"]


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "is_private", "owner", "created_at"]
    list_filter = ["is_private"]
    search_fields = ["slug", "name", "topic"]
    raw_id_fields = ["owner"]
    readonly_fields = ["last_message_id", "created_at"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "room", "role", "joined_at", "last_read_id"]
    list_filter = ["role"]
    search_fields = ["user__username", "room__slug"]
    raw_id_fields = ["user", "room"]
    readonly_fields = ["joined_at", "last_read_id"]


class MessageAdminForm(forms.ModelForm):
    """Checks, before saving, what `message_create` would refuse, as form errors."""

    class Meta:
        model = Message
        fields = ["room", "author", "body", "client_id"]

    def clean(self):
        cleaned = super().clean()
        try:
            if "body" in cleaned:
                cleaned["body"] = services.message_body_clean(cleaned["body"])
            room, author = cleaned.get("room"), cleaned.get("author")
            if self.instance.pk is None and room and author:
                if selectors.membership_of(user=author, room=room) is None:
                    raise forms.ValidationError(
                        "The author is not a member of that room."
                    )
        except ChatError as error:
            raise forms.ValidationError(error.detail) from None
        return cleaned


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    form = MessageAdminForm
    list_display = [
        "id",
        "room",
        "author",
        "short_body",
        "created_at",
        "edited_at",
        "deleted_at",
    ]
    list_filter = ["room", "created_at"]
    search_fields = ["body", "author__username", "room__slug"]
    raw_id_fields = ["room", "author"]
    readonly_fields = ["created_at", "edited_at", "deleted_at"]
    list_select_related = ["room", "author"]

    def get_readonly_fields(self, request, obj=None):
        # Room, author and idempotency key are fixed once a message exists.
        if obj is not None:
            return [*self.readonly_fields, "room", "author", "client_id"]
        return self.readonly_fields

    @admin.display(description="body")
    def short_body(self, message):
        return message.body[:80]

    def save_model(self, request, obj, form, change):
        if change:
            services.message_edit(message=obj, editor=obj.author, body=obj.body)
        else:
            message, _ = services.message_create(
                room=obj.room, author=obj.author, body=obj.body, client_id=obj.client_id
            )
            obj.pk = message.pk

    def delete_model(self, request, obj):
        services.message_delete(message=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for message in queryset.select_related("room"):
            services.message_delete(message=message, actor=request.user)
