"""The look-alike key of every username, kept beside Django's own user table so
that a new or changed name is compared with all existing ones in one indexed query
(accounts.confusables)."""

from django.conf import settings
from django.db import models


class UsernameSkeleton(models.Model):
    """A user's `username_key`; written whenever the user is saved (accounts.apps),
    so every path that creates or renames a user keeps it current."""

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
