"""Reads about passwords: whether a temporary one has run out."""

from django.utils import timezone

from users.models import User


def password_expired(*, user: User) -> bool:
    """Whether the user's password is a temporary one past its hours."""
    expires_at = user.password_expires_at
    return expires_at is not None and expires_at <= timezone.now()
