"""Reads about passwords: whether a temporary one has run out, and who set which."""

from django.db.models import QuerySet
from django.utils import timezone

from users.models import PasswordChange, User


def password_expired(*, user: User) -> bool:
    """Whether the user's password is a temporary one past its hours."""
    expires_at = user.password_expires_at
    return expires_at is not None and expires_at <= timezone.now()


def password_changes(*, user: User) -> QuerySet[PasswordChange]:
    """Every time the user's password was set, newest first."""
    return PasswordChange.objects.filter(user=user).select_related("set_by")
