"""Accounts use Django's own user admin; nothing custom to register yet."""
