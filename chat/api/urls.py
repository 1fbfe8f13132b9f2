"""REST API routes under /api/v1/ (docs/protocol.md lists them)."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts.api import LogoutView, TokenView
from chat.api import views

member = "rooms/<str:slug>/members/<int:user_id>/"

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("auth/logout/", LogoutView.as_view(), name="api-logout"),
    path("rooms/", views.RoomListView.as_view(), name="api-rooms"),
    path("rooms/<str:slug>/", views.RoomDetailView.as_view(), name="api-room"),
    path("rooms/<str:slug>/join/", views.RoomJoinView.as_view(), name="api-room-join"),
    path(
        "rooms/<str:slug>/leave/", views.RoomLeaveView.as_view(), name="api-room-leave"
    ),
    path(
        "rooms/<str:slug>/members/", views.MemberListView.as_view(), name="api-members"
    ),
    path(member, views.MemberDetailView.as_view(), name="api-member"),
    path(f"{member}mute/", views.MemberMuteView.as_view(), name="api-member-mute"),
    path(
        f"{member}unmute/", views.MemberUnmuteView.as_view(), name="api-member-unmute"
    ),
    path(f"{member}ban/", views.MemberBanView.as_view(), name="api-member-ban"),
    path(f"{member}unban/", views.MemberUnbanView.as_view(), name="api-member-unban"),
    path(
        "rooms/<str:slug>/presence/", views.PresenceView.as_view(), name="api-presence"
    ),
    path(
        "rooms/<str:slug>/messages/",
        views.RoomMessagesView.as_view(),
        name="api-room-messages",
    ),
    path("rooms/<str:slug>/read/", views.RoomReadView.as_view(), name="api-room-read"),
    path("direct/", views.DirectListView.as_view(), name="api-direct"),
    path(
        "rooms/<str:slug>/attachments/",
        views.RoomAttachmentsView.as_view(),
        name="api-room-attachments",
    ),
    path(
        "messages/<int:message_id>/",
        views.MessageDetailView.as_view(),
        name="api-message",
    ),
    path(
        "users/<int:user_id>/notify/", views.UserNotifyView.as_view(), name="api-notify"
    ),
    path(
        "messages/<int:message_id>/revisions/",
        views.MessageRevisionsView.as_view(),
        name="api-message-revisions",
    ),
    path(
        "messages/<int:message_id>/reactions/",
        views.MessageReactionsView.as_view(),
        name="api-message-reactions",
    ),
    path(
        "messages/<int:message_id>/reactions/<str:emoji>/",
        views.MessageReactionView.as_view(),
        name="api-message-reaction",
    ),
    path("search/", views.SearchView.as_view(), name="api-search"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"
    ),
]
