"""Clients that live on the running event loop: an async PostgreSQL pool and an async
Redis client, for the hot paths that must not queue on a thread (storing a message,
the send-rate check, presence).

One of each per event loop, made on first use. A server process runs one loop for its
whole life; a test runs one per test, and `close_for_running_loop` (called by the
tests' fixture at the end of each async test, and by the server at shutdown) closes
that loop's clients. Nothing here decides anything: it hands out connections, and
runs Lua scripts on the loop's Redis (those asked together in one pipeline).
"""

import asyncio
import functools
import logging

# Imported with the module, at start-up: not by the first socket after a restart,
# in the middle of the reconnect storm that follows.
import redis.asyncio as redis_asyncio
from django.conf import settings

from chat.batching import Batcher

logger = logging.getLogger(__name__)

_postgres_pools: dict[asyncio.AbstractEventLoop, object] = {}
_redis_clients: dict[asyncio.AbstractEventLoop, object] = {}
# Each loop's registered Lua scripts, by source (they belong to that loop's client).
_redis_scripts: dict[asyncio.AbstractEventLoop, dict[str, object]] = {}


def postgres_available() -> bool:
    """Whether the default database is PostgreSQL (the async pool's only backend)."""
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def _forget_closed_loops() -> None:
    # A test's loop is closed when its test ends; a client left behind by a test that
    # did not close it is dropped here, so the dicts never grow without bound.
    for clients in (_postgres_pools, _redis_clients, _redis_scripts):
        for loop in [loop for loop in clients if loop.is_closed()]:
            del clients[loop]


def _conninfo() -> str:
    from psycopg.conninfo import make_conninfo

    # Read when the pool is made: under the test runner the name is by then the
    # test database's.
    config = settings.DATABASES["default"]
    params = {
        "dbname": config["NAME"],
        "user": config["USER"],
        "password": config["PASSWORD"],
        "host": config["HOST"],
        "port": str(config["PORT"] or ""),
        "application_name": "chat-async",
    }
    return make_conninfo(**{key: value for key, value in params.items() if value})


async def postgres_pool():
    """This loop's psycopg AsyncConnectionPool (autocommit connections), opened on
    first use."""
    loop = asyncio.get_running_loop()
    opening = _postgres_pools.get(loop)
    if opening is None:
        _forget_closed_loops()
        # A task, stored before its first await: the many handshakes of a reconnect
        # storm that all arrive before the pool is open wait for the one pool,
        # instead of using it unopened or making one each.
        opening = _postgres_pools[loop] = loop.create_task(_open_postgres_pool())
    return await opening


async def _open_postgres_pool():
    from psycopg_pool import AsyncConnectionPool

    pool = AsyncConnectionPool(
        _conninfo(),
        min_size=1,
        max_size=settings.DATABASE_ASYNC_POOL_MAX,
        timeout=settings.DATABASE_ASYNC_POOL_TIMEOUT,
        kwargs={"autocommit": True},
        open=False,
        name="chat-async",
    )
    await pool.open()
    return pool


def redis():
    """This loop's redis.asyncio client for REDIS_URL (connections made lazily)."""
    loop = asyncio.get_running_loop()
    client = _redis_clients.get(loop)
    if client is None:
        _forget_closed_loops()
        client = redis_asyncio.Redis.from_url(
            settings.REDIS_URL,
            max_connections=settings.REDIS_MAX_CONNECTIONS,
            socket_timeout=15,
            socket_connect_timeout=5,
        )
        _redis_clients[loop] = client
    return client


def redis_script(source: str):
    """This loop's client's script for the Lua `source`: called, it runs EVALSHA
    (loading the script when Redis does not have it). Registered once per client:
    registering hashes the source."""
    client = redis()
    scripts = _redis_scripts.setdefault(asyncio.get_running_loop(), {})
    script = scripts.get(source)
    if script is None:
        script = scripts[source] = client.register_script(source)
    return script


async def run_script(source: str, keys: list, args: list):
    """Run the Lua `source` on this loop's Redis and return its answer. Scripts
    asked while others are under way go together in one pipeline (chat.batching):
    each still runs atomically in Redis, in the order asked."""
    batcher = _script_batchers.get(source)
    if batcher is None:
        batcher = _script_batchers[source] = Batcher(
            functools.partial(_run_scripts_together, source)
        )
    return await batcher.submit((keys, args))


# One batcher per script source (a batcher starts afresh on each new loop).
_script_batchers: dict[str, Batcher] = {}


async def _run_scripts_together(source: str, calls) -> list:
    """`source` for each of `calls` ((keys, args) each) in one round trip: their
    EVALSHAs pipelined. A Redis that does not know the script yet (restarted,
    flushed) is given it and the calls it refused run again: a refused EVALSHA ran
    nothing."""
    script = redis_script(source)
    if len(calls) == 1:
        keys, args = calls[0]
        return [await script(keys=keys, args=args)]
    answers = await _evalsha_pipelined(script.sha, calls)
    unknown = [i for i, answer in enumerate(answers) if _is_noscript(answer)]
    if unknown:
        await redis().script_load(source)
        again = await _evalsha_pipelined(script.sha, [calls[i] for i in unknown])
        for i, answer in zip(unknown, again, strict=True):
            answers[i] = answer
    return answers


async def _evalsha_pipelined(sha: str, calls) -> list:
    async with redis().pipeline(transaction=False) as pipe:
        for keys, args in calls:
            pipe.evalsha(sha, len(keys), *keys, *args)
        return await pipe.execute(raise_on_error=False)


def _is_noscript(answer) -> bool:
    from redis.exceptions import NoScriptError

    return isinstance(answer, NoScriptError)


async def close_for_running_loop() -> None:
    """Close this loop's clients (each is made again on next use)."""
    loop = asyncio.get_running_loop()
    opening = _postgres_pools.pop(loop, None)
    client = _redis_clients.pop(loop, None)
    _redis_scripts.pop(loop, None)
    if opening is not None:
        await (await opening).close()
    if client is not None:
        await client.aclose()
