"""Web UI routes of the chat app."""

from django.urls import path

from chat import views

urlpatterns = [
    path("", views.room_list, name="room-list"),
    path("rooms/new/", views.room_create, name="room-create"),
    path("direct/", views.direct_open, name="direct-open"),
    path("rooms/<str:slug>/", views.room_detail, name="room-detail"),
    path("rooms/<str:slug>/join/", views.room_join, name="room-join"),
    path("rooms/<str:slug>/leave/", views.room_leave, name="room-leave"),
    path("search/", views.search, name="search"),
]
