"""REST API routes under /api/v1/."""

from django.urls import path

from chat.api import views

urlpatterns = [
    path(
        "rooms/<str:slug>/messages/",
        views.RoomMessagesView.as_view(),
        name="api-room-messages",
    ),
]
