"""The forms that create or rename a user, each refusing a look-alike username
(accounts.usernames): sign-up, and the admin's add and change forms."""

from django.contrib.auth.forms import (
    AdminUserCreationForm,
    UserChangeForm,
    UserCreationForm,
)

from accounts.usernames import validate_username_distinct


class DistinctUsernameMixin:
    """clean_username of a user form, plus: not confusable with another user's."""

    def clean_username(self):
        parent = getattr(super(), "clean_username", None)
        username = parent() if parent else self.cleaned_data.get("username")
        if username is None or self.has_error("username"):
            return username  # one reason at a time (taken, differs only in case)
        validate_username_distinct(username, user_id=self.instance.pk)
        return username


class SignUpForm(DistinctUsernameMixin, UserCreationForm):
    pass


class AdminAddUserForm(DistinctUsernameMixin, AdminUserCreationForm):
    pass


class AdminChangeUserForm(DistinctUsernameMixin, UserChangeForm):
    pass
