"""Accounts' own data: the session table, which knows whose session each row is;
the log of changes that end credentials; the look-alike key of every username.

Django's database sessions keep the user inside the encoded session data, so
nothing can find or end a user's sessions without decoding every row. This table is
Django's documented way to extend them ("Extending database-backed session
engines"): the same rows plus the user, so that deactivating an account ends its
sessions in one statement, whichever way the account was deactivated (the database
trigger of migration 0001; see accounts/sessions.py for the store).
"""

from django.conf import settings
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.db.models.functions import Now


class Session(AbstractBaseSession):
    # Null for a session nobody has signed in to (a language choice, say).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.CASCADE,
        related_name="+",
    )

    class Meta(AbstractBaseSession.Meta):
        db_table = "accounts_session"

    @classmethod
    def get_session_store_class(cls):
        from accounts.sessions import SessionStore

        return SessionStore


class CredentialChange(models.Model):
    """One row per event that can end sockets: an account deactivated or its
    password changed, or a live session deleted (logout). Written only by the
    database triggers (accounts/credential_triggers.py), whichever way the change was
    made; each server process reads the last few seconds of it to re-check the
    sockets of the users named (chat/socket_credentials.py), and rows older than a
    minute are deleted."""

    user_id = models.IntegerField()
    at = models.DateTimeField(db_default=Now(), db_index=True)

    class Meta:
        db_table = "accounts_credential_change"

    def __str__(self):
        return f"credentials of user {self.user_id} changed at {self.at}"


class UsernameSkeleton(models.Model):
    """A user's `username_key`, kept beside Django's own user table so that a new or
    changed name is compared with all existing ones in one indexed query
    (accounts.confusables); written whenever the user is saved (accounts.apps), so
    every path that creates or renames a user keeps it current."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="username_skeleton",
    )
    # Not unique: names that already collide when this table was introduced are
    # left as they are; new ones are refused by the forms (accounts.usernames).
    skeleton = models.CharField(max_length=600, db_index=True)

    def __str__(self) -> str:
        return self.skeleton
