"""App configuration for accounts: sign-up, login, logout."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
