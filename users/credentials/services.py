"""Passwords and sessions. Every password set goes through password_store: someone other than
the holder makes it temporary (it signs in for TEMPORARY_PASSWORD_HOURS, until the holder
changes it), every set is recorded, and each one ends the account's sessions."""

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from users.models import PasswordChange, User

logger = logging.getLogger(__name__)

# The passwords the SPA hard-codes for new and reset accounts, and tells its users about: an
# admin may still hand one out (it is temporary), but nobody may keep one as their own.
SHARED_PASSWORDS = frozenset({"primemade", "primemade1"})
SHARED_PASSWORD = "shared_password"  # noqa: S105 (an error code)
KNOWN_DEFAULT_MESSAGE = (
    "This password is known to others (it is the app's default). Choose one of your own."
)


def password_problems(*, password: str, user: User, own: bool) -> list[ValidationError]:
    """What Django's password validators (AUTH_PASSWORD_VALIDATORS) say against `password` for
    `user` (saved or not); for a holder's own password, a shared default is refused too."""
    problems: list[ValidationError] = []
    if own and password.casefold() in SHARED_PASSWORDS:
        problems.append(ValidationError(KNOWN_DEFAULT_MESSAGE, code=SHARED_PASSWORD))
    try:
        validate_password(password, user)
    except ValidationError as error:
        problems.extend(error.error_list)
    return problems


def is_temporary(*, user: User, set_by: User | None) -> bool:
    """A password someone other than its holder chose. Nobody (set_by None) means the command
    line, run by whoever runs the server, for their own account."""
    return set_by is not None and set_by.pk != user.pk


@transaction.atomic
def password_store(*, user: User, password: str, set_by: User | None, kind: str) -> PasswordChange:
    """Sets a saved user's password (already validated) and records it. Temporary when
    is_temporary(); the holder's own password clears the expiry. The account's refresh tokens
    are revoked: every session ends at its next refresh."""
    now = timezone.now()
    temporary = is_temporary(user=user, set_by=set_by)
    expires_at = now + timedelta(hours=settings.TEMPORARY_PASSWORD_HOURS) if temporary else None
    user.set_password(password)
    user.password_expires_at = expires_at
    user.save(update_fields=["password", "password_expires_at"])
    record = PasswordChange.objects.create(
        user=user,
        set_by=set_by,
        kind=kind,
        temporary=temporary,
        expires_at=expires_at,
        created_at=now,
    )
    revoked = sessions_revoke(user=user)
    logger.info(
        "[PASSWORD-SET] user=%s by=%s kind=%s temporary=%d sessions_revoked=%d",
        user.pk,
        set_by.pk if set_by is not None else "-",
        kind,
        int(temporary),
        revoked,
    )
    return record


def sessions_revoke(*, user: User) -> int:
    """Blacklists every refresh token the user holds that is not blacklisted yet: each of their
    sessions ends at its next refresh (access tokens live JWT_ACCESS_MINUTES at most). Returns
    how many were revoked."""
    live = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True)
    tokens = [BlacklistedToken(token=token) for token in live]
    BlacklistedToken.objects.bulk_create(tokens, ignore_conflicts=True)
    return len(tokens)
