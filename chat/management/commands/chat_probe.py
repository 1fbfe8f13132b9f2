"""`manage.py chat_probe`: is this deployment's message path working, and how fast?

Sends probe messages through the configured channel layer the way a chat message
travels (group_send to a group, received on a member channel) and reports the round
trip; checks the database with SELECT 1. Exits non-zero with a clear message when
either does not answer within the timeout. It touches no chat group and no room;
a probe cut short leaves a group entry and a message in Redis that expire on their
own (the layer's group_expiry and expiry).
"""

import asyncio
import json
import statistics
import time
import uuid
from urllib.parse import urlsplit

from channels.layers import get_channel_layer
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection


class Command(BaseCommand):
    help = __doc__.splitlines()[0].split(": ", 1)[1]

    def add_arguments(self, parser):
        parser.add_argument(
            "--count", type=int, default=5, help="probe messages to send (5)"
        )
        parser.add_argument(
            "--timeout",
            type=float,
            default=5.0,
            help="seconds each step may take before the probe fails (5)",
        )
        parser.add_argument(
            "--json", action="store_true", help="print one JSON object instead"
        )

    def handle(self, *args, **options):
        count, timeout = options["count"], options["timeout"]
        if count < 1:
            raise CommandError("--count must be at least 1")
        if timeout <= 0:
            raise CommandError("--timeout must be positive")
        report = {
            "database": database_check(),
            "channel_layer": asyncio.run(layer_check(count=count, timeout=timeout)),
        }
        failed = [name for name, check in report.items() if check["status"] != "ok"]
        report = {"status": "failed" if failed else "ok", **report}
        self.stdout.write(json.dumps(report) if options["json"] else as_text(report))
        if failed:
            raise CommandError(
                "; ".join(f"{name}: {report[name]['error']}" for name in failed)
            )


def database_check() -> dict:
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:
        return {"status": "failed", "error": describe(error)}
    return {"status": "ok", "ms": round((time.perf_counter() - started) * 1000, 2)}


async def layer_check(*, count: int, timeout: float) -> dict:
    layer = get_channel_layer()
    where = layer_location(layer)
    # Names of its own: a running server has no consumer in this group, and the
    # probe's messages reach nobody else.
    group = f"probe.{uuid.uuid4().hex}"
    step = "joining a group"
    latencies = []
    try:
        channel = await layer.new_channel()
        async with asyncio.timeout(timeout):
            await layer.group_add(group, channel)
        for _ in range(count):
            step = "sending and receiving a probe"
            async with asyncio.timeout(timeout):
                latencies.append(await round_trip(layer, group, channel))
        step = "leaving the group"
        async with asyncio.timeout(timeout):
            await layer.group_discard(group, channel)
    except TimeoutError:
        error = f"{where} did not answer within {timeout:g} s while {step}"
        return {"status": "failed", "backend": where, "error": error}
    except Exception as error:
        failure = f"{where} failed while {step}: {describe(error)}"
        return {"status": "failed", "backend": where, "error": failure}
    finally:
        await close_connections(layer)
    milliseconds = [round(seconds * 1000, 3) for seconds in latencies]
    return {
        "status": "ok",
        "backend": where,
        "count": count,
        "min_ms": min(milliseconds),
        "median_ms": statistics.median(milliseconds),
        "max_ms": max(milliseconds),
        "latencies_ms": milliseconds,
    }


async def round_trip(layer, group: str, channel: str) -> float:
    """Seconds from group_send to the probe message being received."""
    nonce = uuid.uuid4().hex
    started = time.perf_counter()
    await layer.group_send(group, {"type": "chat.probe", "nonce": nonce})
    while True:
        message = await layer.receive(channel)
        if message.get("nonce") == nonce:  # an earlier, timed-out probe's is skipped
            return time.perf_counter() - started


async def close_connections(layer) -> None:
    # channels-redis keeps a pool per event loop; this loop ends with the command.
    # The pub/sub layer has no close_pools; its flush() closes its connections (and
    # forgets its groups and channels, which are only the probe's own here).
    close = getattr(layer, "close_pools", None) or getattr(layer, "flush", None)
    if close is not None:
        try:
            async with asyncio.timeout(1):
                await close()
        except Exception:  # closing after a failure may fail the same way
            pass


def layer_location(layer) -> str:
    """The backend and, for Redis, its addresses without passwords."""
    name = f"{type(layer).__module__}.{type(layer).__name__}"
    addresses = []
    config = settings.CHANNEL_LAYERS["default"].get("CONFIG", {})
    for host in config.get("hosts") or []:
        address = host.get("address") if isinstance(host, dict) else host
        if isinstance(address, str):
            parts = urlsplit(address)
            port = f":{parts.port}" if parts.port else ""
            addresses.append(f"{parts.scheme}://{parts.hostname}{port}{parts.path}")
        elif address:
            addresses.append(str(address))
    return f"{name} at {', '.join(addresses)}" if addresses else name


def describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}".rstrip(": ")


def as_text(report: dict) -> str:
    lines = []
    database = report["database"]
    if database["status"] == "ok":
        lines.append(f"database: ok (SELECT 1 in {database['ms']} ms)")
    else:
        lines.append(f"database: FAILED: {database['error']}")
    layer = report["channel_layer"]
    if layer["status"] == "ok":
        lines.append(
            f"channel layer: ok, {layer['count']} round trips through "
            f"{layer['backend']}: min {layer['min_ms']} ms, "
            f"median {layer['median_ms']} ms, max {layer['max_ms']} ms"
        )
    else:
        lines.append(f"channel layer: FAILED: {layer['error']}")
    return "\n".join(lines)
