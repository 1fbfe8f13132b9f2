"""The one place where async code runs Django's synchronous database work: a bounded
pool of threads for the whole process, sized under the database connection pool.

Channels' `database_sync_to_async` sends every call of a process to one thread, so
every socket's database work queued behind every other's (docs/benchmarks.md). Here
calls run on CHAT_DATABASE_THREADS threads that live as long as the process: each
thread holds at most one pooled connection, so the pool can never be drained by
threads, and a test's event loop that ends leaves no thread (nor connection) behind.
Stale connections are closed around each call, as Channels does.
"""

from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import SyncToAsync
from django.conf import settings
from django.db import close_old_connections

_executor: ThreadPoolExecutor | None = None


def executor() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(
            max_workers=settings.CHAT_DATABASE_THREADS,
            thread_name_prefix="chat-db",
        )
    return _executor


class _DatabaseCall(SyncToAsync):
    # Channels' DatabaseSyncToAsync does the same, but its test communicator turns
    # the closing off, so that tests would keep connections production returns.
    def thread_handler(self, loop, *args, **kwargs):
        close_old_connections()
        try:
            return super().thread_handler(loop, *args, **kwargs)
        finally:
            close_old_connections()


def in_db_thread(function):
    """`function` as an awaitable run on the database threads (Django's active
    language and other context variables go with it)."""
    return _DatabaseCall(function, thread_sensitive=False, executor=executor())
