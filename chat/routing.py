"""WebSocket URL routes: the chat socket, and a refusal for every other path."""

from channels.security.websocket import WebsocketDenier
from django.urls import path, re_path

from chat.consumers import ChatConsumer

websocket_urlpatterns = [
    path("ws/chat/", ChatConsumer.as_asgi()),
    # Any other path is refused at the handshake (HTTP 403). Without this, Channels'
    # URLRouter raises "No route found", which Daphne answers with a 500.
    re_path(r"", WebsocketDenier.as_asgi()),
]
