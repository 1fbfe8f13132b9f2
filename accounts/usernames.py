"""The rule for a username that may be taken: not confusable with anyone else's.

Used by every form that creates or renames a user (sign-up, the admin's add and
change forms); `record_username_key` keeps the stored keys current on every save.
"""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from accounts.confusables import username_key
from accounts.models import UsernameSkeleton


def validate_username_distinct(username: str, *, user_id: int | None = None) -> None:
    """Raise ValidationError when `username` looks like another user's name (the
    user being renamed, `user_id`, does not count)."""
    others = UsernameSkeleton.objects.filter(skeleton=username_key(username))
    if user_id is not None:
        others = others.exclude(user_id=user_id)
    if others.exists():
        raise ValidationError(
            _("This username looks too much like an existing one; choose another."),
            code="username_confusable",
        )


def record_username_key(*, user) -> None:
    """Store the user's current key (after any save; cheap when it is unchanged)."""
    UsernameSkeleton.objects.update_or_create(
        user_id=user.pk, defaults={"skeleton": username_key(user.get_username())}
    )
