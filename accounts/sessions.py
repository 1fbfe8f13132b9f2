"""The session engine (SESSION_ENGINE = "accounts.sessions"): Django's database
sessions, stored in accounts.Session with the signed-in user beside the data."""

from django.contrib import auth
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore


class SessionStore(DatabaseSessionStore):
    @classmethod
    def get_model_class(cls):
        from accounts.models import Session

        return Session

    def create_model_instance(self, data):
        session = super().create_model_instance(data)
        session.user_id = user_id_of(data)
        return session


def user_id_of(data: dict) -> int | None:
    """The signed-in user's id in decoded session data, or None."""
    try:
        return int(data[auth.SESSION_KEY])
    except (KeyError, TypeError, ValueError):
        return None
