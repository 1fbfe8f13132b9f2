"""Database triggers that end an account's credentials when the account changes.

They are why deactivation and password changes take effect whichever way they are
made: the admin, a service, `save()`, a queryset `update()` from a shell, another
process, raw SQL. On an UPDATE of the user table:
- is_active true -> false: the user's sessions and API tokens are deleted, so
  reactivating the account does not revive an old cookie or token;
- password changed: the user's API tokens are deleted (Django already refuses the
  other sessions, whose session hash no longer matches);
and on a DELETE of a live session (logout), as on both changes above, a row in
accounts.CredentialChange names the user: each server process reads those rows
and closes the sockets that no longer stand within a second
(chat/socket_credentials.py).

Installed by migration accounts.0001 and again after every `migrate`: SQLite drops
a table's triggers when a migration rebuilds that table, which an upgrade of Django
can do to the user table.
"""

from django.apps import apps as global_apps
from django.conf import settings

POSTGRES_INSTALL = """
CREATE OR REPLACE FUNCTION accounts_user_credentials_changed() RETURNS trigger AS $$
BEGIN
    IF OLD.is_active AND NOT NEW.is_active THEN
        DELETE FROM {session} WHERE user_id = NEW.{pk};
        DELETE FROM {token} WHERE user_id = NEW.{pk};
        INSERT INTO {change} (user_id, at) VALUES (NEW.{pk}, clock_timestamp());
    ELSIF OLD.password IS DISTINCT FROM NEW.password THEN
        DELETE FROM {token} WHERE user_id = NEW.{pk};
        INSERT INTO {change} (user_id, at) VALUES (NEW.{pk}, clock_timestamp());
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE OR REPLACE TRIGGER accounts_user_credentials_changed
    AFTER UPDATE OF is_active, password ON {user}
    FOR EACH ROW EXECUTE FUNCTION accounts_user_credentials_changed();

CREATE OR REPLACE FUNCTION accounts_session_ended() RETURNS trigger AS $$
BEGIN
    INSERT INTO {change} (user_id, at) VALUES (OLD.user_id, clock_timestamp());
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE OR REPLACE TRIGGER accounts_session_ended
    AFTER DELETE ON {session}
    FOR EACH ROW WHEN (OLD.user_id IS NOT NULL AND OLD.expire_date > now())
    EXECUTE FUNCTION accounts_session_ended();
"""
POSTGRES_REMOVE = """
DROP TRIGGER IF EXISTS accounts_user_credentials_changed ON {user};
DROP FUNCTION IF EXISTS accounts_user_credentials_changed();
DROP TRIGGER IF EXISTS accounts_session_ended ON {session};
DROP FUNCTION IF EXISTS accounts_session_ended();
"""
# Django keeps SQLite datetimes as UTC text, 'YYYY-MM-DD HH:MM:SS.ffffff'.
SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%f', 'now')"
SQLITE_INSTALL = [
    """
    CREATE TRIGGER IF NOT EXISTS accounts_user_deactivated
    AFTER UPDATE OF is_active ON {user}
    FOR EACH ROW WHEN OLD.is_active AND NOT NEW.is_active
    BEGIN
        DELETE FROM {session} WHERE user_id = NEW.{pk};
        DELETE FROM {token} WHERE user_id = NEW.{pk};
        INSERT INTO {change} (user_id, at) VALUES (NEW.{pk}, {now});
    END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS accounts_user_password_changed
    AFTER UPDATE OF password ON {user}
    FOR EACH ROW WHEN OLD.password IS NOT NEW.password
    BEGIN
        DELETE FROM {token} WHERE user_id = NEW.{pk};
        INSERT INTO {change} (user_id, at) VALUES (NEW.{pk}, {now});
    END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS accounts_session_ended
    AFTER DELETE ON {session}
    FOR EACH ROW WHEN OLD.user_id IS NOT NULL AND OLD.expire_date > {now}
    BEGIN
        INSERT INTO {change} (user_id, at) VALUES (OLD.user_id, {now});
    END
    """,
]
SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS accounts_user_deactivated",
    "DROP TRIGGER IF EXISTS accounts_user_password_changed",
    "DROP TRIGGER IF EXISTS accounts_session_ended",
]


def _statements(connection, apps, *, install: bool) -> list[str]:
    quote = connection.ops.quote_name
    user = apps.get_model(settings.AUTH_USER_MODEL)
    names = {
        "user": quote(user._meta.db_table),
        "pk": quote(user._meta.pk.column),
        "session": quote(apps.get_model("accounts", "Session")._meta.db_table),
        "token": quote(apps.get_model("authtoken", "Token")._meta.db_table),
        "change": quote(apps.get_model("accounts", "CredentialChange")._meta.db_table),
    }
    if connection.vendor == "postgresql":
        return [(POSTGRES_INSTALL if install else POSTGRES_REMOVE).format(**names)]
    if connection.vendor == "sqlite":
        statements = SQLITE_INSTALL if install else SQLITE_REMOVE
        return [sql.format(now=SQLITE_NOW, **names) for sql in statements]
    raise RuntimeError(
        f"accounts: no credential triggers for {connection.vendor}; write them first"
    )


def install(connection, apps=global_apps) -> None:
    """Create the triggers, or leave them as they are (idempotent)."""
    with connection.cursor() as cursor:
        for sql in _statements(connection, apps, install=True):
            cursor.execute(sql)


def remove(connection, apps=global_apps) -> None:
    with connection.cursor() as cursor:
        for sql in _statements(connection, apps, install=False):
            cursor.execute(sql)


def install_after_migrate(sender, using, apps=global_apps, **kwargs) -> None:
    """post_migrate: put back what a rebuilt table lost (SQLite)."""
    from django.db import connections

    if apps.is_installed("accounts") and apps.is_installed("rest_framework.authtoken"):
        install(connections[using], apps)
