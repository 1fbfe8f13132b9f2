"""The event loop's own clients (chat.loop_clients): one of each per loop, and the
Lua scripts registered on that loop's Redis client."""

import asyncio

from chat import loop_clients

SCRIPT = "return 1"


async def test_a_script_is_registered_once_per_loop_and_runs_by_its_hash(redis_url):
    script = loop_clients.redis_script(SCRIPT)
    assert loop_clients.redis_script(SCRIPT) is script
    assert await script() == 1
    assert await loop_clients.redis().script_exists(script.sha) == [True]


async def test_a_loops_scripts_go_with_its_client(redis_url):
    loop_clients.redis_script(SCRIPT)
    loop = asyncio.get_running_loop()
    assert SCRIPT in loop_clients._redis_scripts[loop]
    await loop_clients.close_for_running_loop()
    assert loop not in loop_clients._redis_scripts
