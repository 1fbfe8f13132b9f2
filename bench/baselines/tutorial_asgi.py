"""ASGI application serving only the tutorial consumer on `ws/chat/<room>/`.

Run from the project root:
    python -m daphne -b 127.0.0.1 -p PORT bench.baselines.tutorial_asgi:application
Django settings are `chatsite.settings.local`, so CHANNEL_LAYERS (Redis when
REDIS_URL is set, with CHANNEL_LAYER_PREFIX) are the same as the chat server's.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings.local")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import re_path  # noqa: E402

from bench.baselines.tutorial import ChatConsumer  # noqa: E402

websocket_urlpatterns = [
    re_path(r"^ws/chat/(?P<room_name>\w+)/$", ChatConsumer.as_asgi()),
]

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": URLRouter(websocket_urlpatterns),
    }
)
