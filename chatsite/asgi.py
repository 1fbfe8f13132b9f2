"""The ASGI entry point: HTTP goes to Django, /ws/chat/ to the chat consumer.

Every connection first has its client address (and, behind a trusted proxy, its
scheme) resolved (chatsite.client_address). The socket route sits behind the Origin
check (a handshake from another origin is refused with 403 before any consumer code
runs, chatsite.origins) and the session authentication.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings.production")
# Django must be set up before the consumer (and its models) are imported.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from chat.routing import websocket_routes  # noqa: E402
from chat.socket_auth import SocketAuthMiddleware  # noqa: E402
from chatsite import server_adapter  # noqa: E402
from chatsite.client_address import ClientAddressMiddleware  # noqa: E402
from chatsite.origins import SiteOriginValidator  # noqa: E402

application = ClientAddressMiddleware(
    ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            "websocket": SiteOriginValidator(SocketAuthMiddleware(websocket_routes)),
        }
    )
)

server_adapter.install()
