"""The Django admin as a moderation console for rooms, memberships and messages.

Every change goes through `chat.services`, so what an admin does is broadcast like
anything else (a deleted message disappears from open pages, a banned member's
sockets get `room.removed`, a deactivated account's sockets close with 4403) and is
written to the audit log, which is read-only here.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.forms import AdminAddUserForm, AdminChangeUserForm
from chat import selectors, services
from chat.errors import ChatError
from chat.models import (
    Membership,
    Message,
    MessageRevision,
    ModerationAction,
    Room,
    RoomBan,
)

User = get_user_model()


def run_for_each(modeladmin, request, objects, action, done: str) -> None:
    """Apply a service to each object, reporting refusals instead of failing."""
    succeeded, refused = 0, []
    for item in objects:
        try:
            action(item)
            succeeded += 1
        except ChatError as error:
            refused.append(
                _("%(item)s: %(detail)s") % {"item": item, "detail": error.detail}
            )
    if succeeded:
        modeladmin.message_user(
            request,
            _("%(done)s: %(count)d.") % {"done": done, "count": succeeded},
            messages.SUCCESS,
        )
    for refusal in refused[:10]:
        modeladmin.message_user(request, refusal, messages.WARNING)


# ---- rooms and memberships ---------------------------------------------------------


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]
    fields = ["user", "role", "joined_at", "muted_until", "last_read_id"]
    readonly_fields = ["joined_at", "muted_until", "last_read_id"]


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "kind", "is_private", "owner", "created_at"]
    list_filter = ["kind", "is_private"]
    search_fields = ["slug", "name", "topic"]
    raw_id_fields = ["owner"]
    readonly_fields = ["last_message_id", "created_at"]
    inlines = [MembershipInline]


def _mute_action(minutes: int, description, done):
    """An action muting for `minutes`; `description` and `done` are lazy strings."""

    @admin.action(description=description)
    def mute(modeladmin, request, queryset):
        run_for_each(
            modeladmin,
            request,
            queryset.select_related("room", "user"),
            lambda m: services.member_mute(
                room=m.room, actor=request.user, user=m.user, minutes=minutes,
                reason="admin",
            ),
            str(done),
        )  # fmt: skip

    mute.__name__ = f"mute_{minutes}"
    return mute


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "room", "role", "joined_at", "muted_until", "last_read_id"]
    list_filter = ["role", "room"]
    search_fields = ["user__username", "room__slug", "room__name"]
    raw_id_fields = ["user", "room"]
    readonly_fields = ["joined_at", "last_read_id", "muted_until", "mute_reason"]
    list_select_related = ["user", "room"]
    actions = [
        _mute_action(
            10,
            gettext_lazy("Mute for 10 minutes"),
            gettext_lazy("Muted for 10 minutes"),
        ),
        _mute_action(
            60, gettext_lazy("Mute for 1 hour"), gettext_lazy("Muted for 1 hour")
        ),
        _mute_action(
            60 * 24,
            gettext_lazy("Mute for 24 hours"),
            gettext_lazy("Muted for 24 hours"),
        ),
        "unmute",
        "ban",
    ]

    @admin.action(description=gettext_lazy("Unmute"))
    def unmute(self, request, queryset):
        run_for_each(
            self,
            request,
            queryset.select_related("room", "user"),
            lambda m: services.member_unmute(
                room=m.room, actor=request.user, user=m.user
            ),
            _("Unmuted"),
        )

    @admin.action(description=gettext_lazy("Ban from the room (removes them, live)"))
    def ban(self, request, queryset):
        run_for_each(
            self,
            request,
            queryset.select_related("room", "user"),
            lambda m: services.member_ban(
                room=m.room, actor=request.user, user=m.user, reason="admin"
            ),
            _("Banned"),
        )


@admin.register(RoomBan)
class RoomBanAdmin(admin.ModelAdmin):
    list_display = ["user", "room", "reason", "banned_by", "created_at"]
    list_filter = ["room"]
    search_fields = ["user__username", "room__slug", "reason"]
    list_select_related = ["user", "room", "banned_by"]
    actions = ["unban"]

    def has_add_permission(self, request):
        return False  # bans are made with the Membership action or the API

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # lifting a ban is the "Unban" action, which is audited

    @admin.action(description=gettext_lazy("Unban"))
    def unban(self, request, queryset):
        run_for_each(
            self,
            request,
            queryset.select_related("room", "user"),
            lambda ban: services.member_unban(
                room=ban.room, actor=request.user, user=ban.user
            ),
            _("Unbanned"),
        )


# ---- messages -----------------------------------------------------------------------


class DeletedFilter(admin.SimpleListFilter):
    title = gettext_lazy("deleted")
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return [("yes", _("deleted")), ("no", _("visible"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(deleted_at__isnull=True)
        return queryset


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
                        _("The author is not a member of that room.")
                    )
        except ChatError as error:
            raise forms.ValidationError(error.detail) from None
        return cleaned


class MessageRevisionInline(admin.TabularInline):
    """The texts a message had before each edit, oldest first: read-only, since
    they are the record of what was said."""

    model = MessageRevision
    extra = 0
    fields = ["created_at", "editor", "body"]
    readonly_fields = fields
    verbose_name = gettext_lazy("earlier version")
    verbose_name_plural = gettext_lazy("earlier versions (text before each edit)")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    form = MessageAdminForm
    list_display = ["id", "room", "author", "short_body", "created_at", "edited_at",
                    "deleted_at"]  # fmt: skip
    list_filter = [DeletedFilter, "room", "author", "created_at"]
    search_fields = ["body", "author__username", "room__slug", "room__name"]
    raw_id_fields = ["room", "author"]
    readonly_fields = ["created_at", "edited_at", "deleted_at"]
    list_select_related = ["room", "author"]
    date_hierarchy = "created_at"
    inlines = [MessageRevisionInline]
    actions = [
        "delete_messages",
        "restore_messages",
        "ban_authors",
        "deactivate_authors",
    ]

    def get_actions(self, request):
        actions = super().get_actions(request)
        # Django's bulk delete would remove rows without a broadcast or an audit
        # entry; "Delete messages" below goes through the service instead.
        actions.pop("delete_selected", None)
        return actions

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []  # a new message has no past

    def get_readonly_fields(self, request, obj=None):
        # Room, author and idempotency key are fixed once a message exists.
        if obj is not None:
            return [*self.readonly_fields, "room", "author", "client_id"]
        return self.readonly_fields

    @admin.display(description=gettext_lazy("body"))
    def short_body(self, message):
        return message.body[:80]

    def save_model(self, request, obj, form, change):
        if change:
            try:
                services.message_edit(message=obj, editor=obj.author, body=obj.body)
            except ChatError as error:
                # The edit rules (window, mute, rate) hold here too; nothing was
                # saved, and the change page says why.
                self.message_user(request, error.detail, messages.ERROR)
        else:
            message, _ = services.message_create(
                room=obj.room, author=obj.author, body=obj.body, client_id=obj.client_id
            )
            obj.pk = message.pk

    def delete_model(self, request, obj):
        services.message_delete(message=obj, actor=request.user, reason="admin")

    def delete_queryset(self, request, queryset):
        for message in queryset.select_related("room"):
            services.message_delete(message=message, actor=request.user, reason="admin")

    @admin.action(
        description=gettext_lazy("Delete messages (disappear from open pages)")
    )
    def delete_messages(self, request, queryset):
        run_for_each(
            self,
            request,
            queryset.select_related("room", "author"),
            lambda m: services.message_delete(
                message=m, actor=request.user, reason="admin"
            ),
            _("Deleted"),
        )

    @admin.action(description=gettext_lazy("Restore messages"))
    def restore_messages(self, request, queryset):
        run_for_each(
            self,
            request,
            queryset.select_related("room", "author"),
            lambda m: services.message_restore(
                message=m, actor=request.user, reason="admin"
            ),
            _("Restored"),
        )

    @admin.action(
        description=gettext_lazy(
            "Ban the authors from those rooms and delete their messages"
        )
    )
    def ban_authors(self, request, queryset):
        pairs = {(m.room, m.author) for m in queryset.select_related("room", "author")}

        def ban(pair):
            room, author = pair
            services.member_ban(
                room=room, actor=request.user, user=author, reason="spam"
            )
            for message in Message.objects.filter(
                room=room, author=author, deleted_at__isnull=True
            ).select_related("room"):
                services.message_delete(
                    message=message, actor=request.user, reason="spam"
                )

        run_for_each(self, request, pairs, ban, _("Banned authors"))

    @admin.action(
        description=gettext_lazy("Deactivate the authors' accounts (site-wide, live)")
    )
    def deactivate_authors(self, request, queryset):
        authors = {m.author for m in queryset.select_related("author")}
        run_for_each(
            self,
            request,
            authors,
            lambda user: services.user_deactivate(
                actor=request.user, user=user, reason="admin"
            ),
            _("Deactivated"),
        )


# ---- the audit log ------------------------------------------------------------------


@admin.register(ModerationAction)
class ModerationActionAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor", "kind", "room", "target_user",
                    "target_message", "reason", "detail"]  # fmt: skip
    list_filter = ["kind", "room", "created_at"]
    search_fields = ["actor__username", "target_user__username", "reason", "room__slug"]
    list_select_related = ["actor", "room", "target_user", "target_message"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # read-only: the log is written by the services alone

    def has_delete_permission(self, request, obj=None):
        return False


# ---- users --------------------------------------------------------------------------

admin.site.unregister(User)


@admin.register(User)
class ChatUserAdmin(UserAdmin):
    # Adding or renaming a user refuses a name that looks like another's.
    add_form = AdminAddUserForm
    form = AdminChangeUserForm
    actions = ["deactivate"]

    @admin.action(
        description=gettext_lazy(
            "Deactivate (signs out everywhere, closes sockets live)"
        )
    )
    def deactivate(self, request, queryset):
        run_for_each(
            self,
            request,
            queryset,
            lambda user: services.user_deactivate(
                actor=request.user, user=user, reason="admin"
            ),
            _("Deactivated"),
        )

    def save_model(self, request, obj, form, change):
        # Unticking "active" in the form is a deactivation too: it must close the
        # user's open sockets and be audited, like the action.
        users = type(obj).objects
        was_active = change and users.filter(pk=obj.pk, is_active=True).exists()
        super().save_model(request, obj, form, change)
        if was_active and not obj.is_active:
            try:
                services.user_deactivate(actor=request.user, user=obj, reason="admin")
            except ChatError as error:
                users.filter(pk=obj.pk).update(is_active=True)
                self.message_user(request, error.detail, messages.ERROR)
