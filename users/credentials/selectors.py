"""Reads about passwords: whether a temporary one has run out."""

from django.utils import timezone

from users.models import User

PASSWORD_EXPIRED = "password_expired"  # noqa: S105 (an error code)
EXPIRED_MESSAGE = (
    "This temporary password has expired. Choose Forgot password on the sign-in page: "
    "a text message brings you a link to choose your own."
)
SESSION_EXPIRED_MESSAGE = (
    "This session was opened with a temporary password, which has expired. Choose Forgot "
    "password on the sign-in page: a text message brings you a link to choose your own."
)


def password_expired(*, user: User) -> bool:
    """Whether the user's password is a temporary one past its hours. Every session of the
    account was opened with its current password (each new password ends the sessions before
    it), so this also says whether the caller's session has run out with it."""
    expires_at = user.password_expires_at
    return expires_at is not None and expires_at <= timezone.now()
