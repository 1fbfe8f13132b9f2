"""The socket's one route, /ws/chat/; a handshake for any other path is refused
(HTTP 403, where Channels' URLRouter would raise "No route found", which Daphne
answers with a 500).

A plain function rather than Channels' URLRouter: a router's coroutine and its copy
of the scope live as long as each socket, and one fixed path needs no patterns. As
URLRouter does, the path is read below the mount point (`root_path`).
"""

from channels.security.websocket import WebsocketDenier

from chat.consumers import ChatConsumer

SOCKET_PATH = "ws/chat/"

chat_socket = ChatConsumer.as_asgi()
refusal = WebsocketDenier.as_asgi()


async def websocket_routes(scope, receive, send):
    path = scope["path"]
    root_path = scope.get("root_path", "")
    if root_path and path.startswith(root_path):
        path = path[len(root_path) :]
    if path.lstrip("/") == SOCKET_PATH:
        return await chat_socket(scope, receive, send)
    return await refusal(scope, receive, send)
