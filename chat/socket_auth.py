"""Who a socket is: the user of the handshake's session cookie.

Channels' AuthMiddleware reads the session and then the user through the ORM on its
one database thread, where every socket's handshake queued behind every other
socket's database work. With database sessions on PostgreSQL this reads both with
one prepared statement on the event loop's pool instead (the session row names its
user: accounts.Session.user), and applies the checks of
`django.contrib.auth.get_user`: the session is unexpired, names a configured backend
whose `get_user` is ModelBackend's (so an inactive account is nobody), and carries
the user's current session hash. Anything else (another session engine, another
backend, a hash to check against SECRET_KEY_FALLBACKS, a session to flush) is
Django's own `get_user`, on the database threads.
"""

import functools
import logging
from importlib import import_module
from types import SimpleNamespace

import psycopg
from django.conf import settings
from django.contrib import auth
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AnonymousUser
from django.http import parse_cookie
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from psycopg_pool import PoolTimeout

from chat import loop_clients
from chat.db_threads import in_db_thread
from chatsite.nul_bytes import NUL

logger = logging.getLogger(__name__)

# The project's database sessions (accounts/sessions.py), whose table is read here.
DATABASE_SESSIONS = "accounts.sessions"


@functools.cache
def _session_and_user_sql(model) -> tuple[list[str], str]:
    """One statement for the handshake: the session's data and, joined on the user
    the session row names (accounts.Session.user), that user's columns (all NULL
    when the row names none). Its columns' attnames, and the SQL."""
    fields = model._meta.concrete_fields
    columns = ", ".join(f'u."{field.column}"' for field in fields)
    table = model._meta.db_table
    pk = model._meta.pk.column
    return (
        [field.attname for field in fields],
        f"SELECT s.session_data, {columns} FROM accounts_session s"
        f' LEFT JOIN "{table}" u ON u."{pk}" = s.user_id'
        " WHERE s.session_key = %s AND s.expire_date > %s",
    )


def _django_get_user(session):
    # get_user reads nothing from the request but its session.
    return auth.get_user(SimpleNamespace(session=session))


def _fast_path_applies() -> bool:
    return (
        settings.SESSION_ENGINE == DATABASE_SESSIONS
        and loop_clients.postgres_available()
    )


async def user_for_scope(scope):
    """The handshake's user, or AnonymousUser."""
    session_key = scope.get("cookies", {}).get(settings.SESSION_COOKIE_NAME)
    if session_key and NUL in session_key:
        # No session's key holds NUL, and PostgreSQL would refuse the lookup (a
        # 500 at the handshake). HTTP requests are refused in chatsite.nul_bytes.
        return AnonymousUser()
    if not _fast_path_applies():
        return await in_db_thread(_django_get_user)(scope["session"])
    if not session_key:
        return AnonymousUser()
    try:
        user = await _user_from_database_session(session_key)
    except (PoolTimeout, psycopg.OperationalError):
        # The loop's pool could not serve in time (a worker just started under
        # load, a restarted database): a slower handshake through Django's own pool
        # beats a refused one. If the database is really down, that fails too.
        logger.warning("socket auth: the loop's pool failed; using Django's")
        user = None
    if user is None:
        # Not decidable here: Django's own get_user decides (and flushes).
        return await in_db_thread(_django_get_user)(scope["session"])
    return user


async def _user_from_database_session(session_key: str):
    """The session's user, AnonymousUser, or None when Django must decide."""
    from accounts.sessions import SessionStore, user_id_of

    model = auth.get_user_model()
    names, sql = _session_and_user_sql(model)
    pool = await loop_clients.postgres_pool()
    async with pool.connection() as conn:
        cursor = await conn.execute(sql, (session_key, timezone.now()), prepare=True)
        row = await cursor.fetchone()
    if row is None:
        return AnonymousUser()
    data = SessionStore().decode(row[0])
    try:
        backend_path = data[auth.BACKEND_SESSION_KEY]
    except KeyError:
        return AnonymousUser()
    if auth.SESSION_KEY not in data:
        return AnonymousUser()
    if backend_path not in settings.AUTHENTICATION_BACKENDS:
        return AnonymousUser()
    backend = auth.load_backend(backend_path)
    if type(backend).get_user is not ModelBackend.get_user:
        return None
    user_values = row[1:]
    joined_id = user_values[names.index(model._meta.pk.attname)]
    if joined_id is None or joined_id != user_id_of(data):
        # The row names no user, or another than its data (a row written before
        # the column, or by other code): Django reads the data's user itself.
        return None
    user = model.from_db("default", names, user_values)
    if not backend.user_can_authenticate(user):
        return AnonymousUser()
    session_hash = data.get(auth.HASH_SESSION_KEY)
    if session_hash and constant_time_compare(
        session_hash, user.get_session_auth_hash()
    ):
        return user
    return None


class SocketAuthMiddleware:
    """ASGI middleware for sockets: the handshake's cookies (`scope["cookies"]`), its
    session (`scope["session"]`, loaded on first use) and its user
    (`scope["user"]`, by `user_for_scope`), in one layer.

    What Channels' CookieMiddleware, SessionMiddleware and AuthMiddleware put in the
    scope, without their three layers: every layer's coroutine and copy of the scope
    lives as long as the socket (about 2.5 KiB of each idle socket's memory). For
    a socket their session wrapper does nothing more: it saves a session only with
    an HTTP response."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        cookies = {}
        for name, value in scope.get("headers", ()):
            if name == b"cookie":  # the first, as Channels and Django read it
                cookies = parse_cookie(value.decode("latin1"))
                break
        session_store = import_module(settings.SESSION_ENGINE).SessionStore
        session = session_store(cookies.get(settings.SESSION_COOKIE_NAME))
        scope = {**scope, "cookies": cookies, "session": session}
        scope["user"] = await user_for_scope(scope)
        return await self.inner(scope, receive, send)
