"""The Django admin as a moderation console for rooms, memberships and messages.

Every change goes through `chat.services`, so what an admin does is broadcast like
anything else (a deleted message disappears from open pages, a removed or banned
member's sockets get `room.removed`, a deactivated account's sockets close with 4403)
and is written to the audit log, which is read-only here. A write no service makes
(creating or deleting a room, posting in someone's name) is not offered.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db import transaction
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.forms import AdminAddUserForm, AdminChangeUserForm
from chat import services
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


class ServiceForm(forms.ModelForm):
    """An admin form whose save is a service call, made by `actor` (the staff member).

    The call runs once the form is otherwise valid, in a savepoint: a refusal
    (ChatError) becomes a form error and leaves nothing written, and what it does
    commits with the admin's own transaction, after which the service broadcasts.
    The admin using it saves nothing itself (ServiceAdmin) and has no editable
    inlines, whose errors would come after the call.
    """

    actor = None  # the request's user, set by ServiceAdmin.get_form
    written = None  # what the service call returned, for ServiceAdmin.save_model

    def service_call(self):
        """Make the change through a service; return the object written."""
        raise NotImplementedError

    def full_clean(self):
        super().full_clean()
        if not self.is_bound or self.errors:
            return
        try:
            with transaction.atomic():
                self.written = self.service_call()
        except ChatError as refusal:
            self.add_error(None, refusal.detail)


class ServiceAdmin(admin.ModelAdmin):
    """An admin whose add and change forms write through a service (ServiceForm),
    and whose single deletions, made by `delete_model` through a service, report a
    refusal on the change page."""

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        return type(form.__name__, (form,), {"actor": request.user})

    def save_model(self, request, obj, form, change):
        obj.pk = form.written.pk  # written by the form's service call

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ChatError as refusal:
            # Raised inside the view's transaction, which rolled back.
            self.message_user(request, refusal.detail, messages.ERROR)
            opts = self.opts
            return redirect(
                reverse(
                    f"admin:{opts.app_label}_{opts.model_name}_change",
                    args=[object_id],
                    current_app=self.admin_site.name,
                )
            )

    def get_actions(self, request):
        actions = super().get_actions(request)
        # Django's bulk delete would remove rows without a broadcast or an audit
        # entry; each admin offers its own action through the service instead.
        actions.pop("delete_selected", None)
        return actions


def run_for_each_member(modeladmin, request, queryset, service, done: str, **extra):
    """`run_for_each` of a member service (`room=`, `actor=`, `user=`) over rows
    naming a room and a user (memberships, bans)."""
    run_for_each(
        modeladmin,
        request,
        queryset.select_related("room", "user"),
        lambda row: service(room=row.room, actor=request.user, user=row.user, **extra),
        done,
    )


class ReadOnlyInline(admin.TabularInline):
    """Related rows shown for reading: nothing added, changed or deleted through
    them (a save would skip the services)."""

    extra = 0

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# ---- rooms and memberships ---------------------------------------------------------


class MembershipInline(ReadOnlyInline):
    """The room's members, read-only: each is changed or removed on its own
    Membership page, through the services."""

    model = Membership
    fields = ["user", "role", "joined_at", "muted_until", "last_read_id"]
    readonly_fields = fields
    show_change_link = True


class RoomAdminForm(ServiceForm):
    class Meta:
        model = Room
        fields = ["name", "topic"]

    def service_call(self):
        return services.room_update(
            room=Room.objects.get(pk=self.instance.pk),
            actor=self.actor,
            name=self.cleaned_data["name"],
            topic=self.cleaned_data["topic"],
        )


@admin.register(Room)
class RoomAdmin(ServiceAdmin):
    """Rooms are created by their owners (web, REST) and not deleted: no service
    does either for someone else. Here staff rename them and change their topic."""

    form = RoomAdminForm
    list_display = ["slug", "name", "kind", "is_private", "owner", "created_at"]
    list_filter = ["kind", "is_private"]
    search_fields = ["slug", "name", "topic"]
    fields = ["slug", "name", "topic", "kind", "is_private", "owner",
              "last_message_id", "message_count", "created_at"]  # fmt: skip
    readonly_fields = ["slug", "kind", "is_private", "owner", "last_message_id",
                       "message_count", "created_at"]  # fmt: skip
    list_select_related = ["owner"]
    inlines = [MembershipInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _mute_action(minutes: int, description, done):
    """An action muting for `minutes`; `description` and `done` are lazy strings."""

    @admin.action(description=description)
    def mute(modeladmin, request, queryset):
        run_for_each_member(
            modeladmin, request, queryset, services.member_mute, str(done),
            minutes=minutes, reason="admin",
        )  # fmt: skip

    mute.__name__ = f"mute_{minutes}"
    return mute


class MembershipAdminForm(ServiceForm):
    """Adds a member (`member_add`, then `member_set_role` for a moderator), or
    changes a member's role."""

    class Meta:
        model = Membership
        fields = ["user", "room", "role"]

    def service_call(self):
        # The unsaved instance holds what was entered (room and user are read-only
        # once the membership exists); the services read the stored row.
        room, user, role = self.instance.room, self.instance.user, self.instance.role
        if self.instance.pk is None:
            membership = services.member_add(room=room, actor=self.actor, user=user)
            if role == membership.role:
                return membership
        return services.member_set_role(
            room=room, actor=self.actor, user=user, role=role
        )


@admin.register(Membership)
class MembershipAdmin(ServiceAdmin):
    form = MembershipAdminForm
    list_display = ["user", "room", "role", "joined_at", "muted_until", "last_read_id"]
    list_filter = ["role", "room"]
    search_fields = ["user__username", "room__slug", "room__name"]
    raw_id_fields = ["user", "room"]
    readonly_fields = ["joined_at", "last_read_id", "muted_until", "mute_reason"]
    list_select_related = ["user", "room"]
    actions = [
        "remove",
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

    def get_readonly_fields(self, request, obj=None):
        # Whose membership of which room is fixed once it exists: only the role
        # changes.
        if obj is not None:
            return [*self.readonly_fields, "user", "room"]
        return self.readonly_fields

    def delete_model(self, request, obj):
        services.member_remove(room=obj.room, actor=request.user, user=obj.user)

    @admin.action(description=gettext_lazy("Remove from the room (live)"))
    def remove(self, request, queryset):
        run_for_each_member(
            self, request, queryset, services.member_remove, _("Removed")
        )

    @admin.action(description=gettext_lazy("Unmute"))
    def unmute(self, request, queryset):
        run_for_each_member(
            self, request, queryset, services.member_unmute, _("Unmuted")
        )

    @admin.action(description=gettext_lazy("Ban from the room (removes them, live)"))
    def ban(self, request, queryset):
        run_for_each_member(
            self, request, queryset, services.member_ban, _("Banned"), reason="admin"
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
        run_for_each_member(
            self, request, queryset, services.member_unban, _("Unbanned")
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


class MessageAdminForm(ServiceForm):
    """Changes the body: as its author's edit when the staff member wrote the
    message, else as a staff edit, recorded and audited as theirs."""

    class Meta:
        model = Message
        fields = ["body"]

    def service_call(self):
        return services.message_edit_by_staff(
            message=Message.objects.select_related("room", "author").get(
                pk=self.instance.pk
            ),
            actor=self.actor,
            body=self.cleaned_data["body"],
            reason="admin",
        )


class MessageRevisionInline(ReadOnlyInline):
    """The texts a message had before each edit, oldest first: read-only, since
    they are the record of what was said."""

    model = MessageRevision
    fields = ["created_at", "editor", "body"]
    readonly_fields = fields
    verbose_name = gettext_lazy("earlier version")
    verbose_name_plural = gettext_lazy("earlier versions (text before each edit)")


@admin.register(Message)
class MessageAdmin(ServiceAdmin):
    """Messages are read, edited, deleted and restored here, never added: a message
    added here would put words in its author's mouth."""

    form = MessageAdminForm
    list_display = ["id", "room", "author", "short_body", "created_at", "edited_at",
                    "deleted_at"]  # fmt: skip
    list_filter = [DeletedFilter, "room", "author", "created_at"]
    search_fields = ["body", "author__username", "room__slug", "room__name"]
    fields = ["room", "author", "body", "client_id", "created_at", "edited_at",
              "deleted_at"]  # fmt: skip
    readonly_fields = ["room", "author", "client_id", "created_at", "edited_at",
                       "deleted_at"]  # fmt: skip
    list_select_related = ["room", "author"]
    date_hierarchy = "created_at"
    inlines = [MessageRevisionInline]
    actions = [
        "delete_messages",
        "restore_messages",
        "ban_authors",
        "deactivate_authors",
    ]

    def has_add_permission(self, request):
        return False

    @admin.display(description=gettext_lazy("body"))
    def short_body(self, message):
        return message.body[:80]

    def delete_model(self, request, obj):
        services.message_delete(message=obj, actor=request.user, reason="admin")

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
