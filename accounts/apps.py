"""App configuration for accounts: sign-up, login, logout, sessions."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate, post_save


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self):
        from accounts import credential_triggers

        post_migrate.connect(credential_triggers.install_after_migrate, sender=self)

        from django.contrib.auth import get_user_model

        # Every way a user is saved (forms, the admin, createsuperuser, a shell)
        # keeps the look-alike key current; `update_fields` without the username
        # (a login's last_login) cannot change it and costs nothing.
        post_save.connect(
            _username_saved,
            sender=get_user_model(),
            dispatch_uid="accounts.username_key",
        )


def _username_saved(sender, instance, update_fields=None, raw=False, **kwargs):
    if raw or (update_fields is not None and "username" not in update_fields):
        return
    from accounts.usernames import record_username_key

    record_username_key(user=instance)
