"""The production server command: Daphne with the chat's socket limits.

    python -m chatsite.serve [--host 127.0.0.1] [--port 8000]

Every Daphne option that the protocol depends on is set here, from settings, so that
the serve command, the tests' servers and a deployment all run the same way.
"""

import argparse
import os
import sys


def daphne_arguments(host: str, port: int) -> list[str]:
    from django.conf import settings

    heartbeat = settings.CHAT_HEARTBEAT_SECONDS
    return [
        "-b", host,
        "-p", str(port),
        # Protocol-level pings every heartbeat; a peer that answers none for three
        # heartbeats is dropped (a dead TCP connection that sends no close frame).
        # The application-level rule (no frame for three heartbeats: 4408) is the
        # consumer's; browsers answer pings by themselves, so both are needed.
        "--ping-interval", str(heartbeat),
        "--ping-timeout", str(3 * heartbeat),
        # No maximum lifetime for a socket (Daphne's default closes after a day).
        "--websocket_timeout", "-1",
        # Frames over 64 KiB are refused by the WebSocket layer with 1009 before
        # they are buffered whole; the consumer checks the same limit again.
        "--websocket-max-message-size", str(settings.CHAT_MAX_FRAME_BYTES),
        "--application-close-timeout", "5",
        "chatsite.asgi:application",
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    options = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings.production")
    import django

    django.setup()
    from daphne.cli import CommandLineInterface

    sys.argv = ["daphne", *daphne_arguments(options.host, options.port)]
    CommandLineInterface().run(sys.argv[1:])


if __name__ == "__main__":
    main()
