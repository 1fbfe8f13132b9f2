"""App configuration for accounts: sign-up, login, logout, sessions."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self):
        from accounts import credential_triggers

        post_migrate.connect(credential_triggers.install_after_migrate, sender=self)
