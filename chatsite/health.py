"""Operability endpoints: /healthz (alive), /readyz (dependencies), /metrics.

/metrics is Prometheus text for this process only; it is served to the addresses in
METRICS_ALLOWED_IPS (loopback by default), as a scraper on the host would reach it.
"""

import asyncio
import os
import time
import uuid

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.http import HttpResponse, HttpResponseForbidden, JsonResponse

from chat import metrics
from chatsite import client_address


async def healthz(request):
    # The pid tells apart the workers behind one port (chatsite.serve --workers).
    return JsonResponse({"status": "ok", "pid": os.getpid()})


def _database_ok() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    connection.close()


# One probe channel per event loop, reused: the pub/sub layer subscribes a channel
# in Redis until a receive on it is cancelled, so a fresh channel per check would
# leave one subscription (and one queue) behind for every /readyz call.
_probe_channels: dict = {}


async def _layer_round_trip() -> float:
    """Send a message to this process's probe channel through the layer and read it
    back (a reply to an earlier, timed-out probe is skipped by its nonce)."""
    layer = get_channel_layer()
    loop = asyncio.get_running_loop()
    channel = _probe_channels.get(loop)
    if channel is None:
        channel = _probe_channels[loop] = await layer.new_channel()
    nonce = uuid.uuid4().hex
    started = time.perf_counter()
    await layer.send(channel, {"type": "ready.probe", "nonce": nonce})

    async def read_own_reply():
        while (await layer.receive(channel)).get("nonce") != nonce:
            pass

    await asyncio.wait_for(read_own_reply(), timeout=2)
    return time.perf_counter() - started


async def readyz(request):
    checks, ready = {}, True
    try:
        await sync_to_async(_database_ok, thread_sensitive=False)()
        checks["database"] = "ok"
    except Exception as error:
        checks["database"], ready = f"failed: {error.__class__.__name__}", False
    try:
        checks["channel_layer_ms"] = round(await _layer_round_trip() * 1000, 2)
    except Exception as error:
        checks["channel_layer"], ready = f"failed: {error.__class__.__name__}", False
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", **checks},
        status=200 if ready else 503,
    )


async def metrics_view(request):
    if client_address.of_request(request) not in settings.METRICS_ALLOWED_IPS:
        return HttpResponseForbidden("metrics are served to METRICS_ALLOWED_IPS only")
    metrics.asyncio_tasks.set(len(asyncio.all_tasks()))
    return HttpResponse(metrics.render(), content_type="text/plain; version=0.0.4")
