"""Signing in and out: credentials checked, tokens issued and revoked."""

import logging

from django.contrib.auth.models import update_last_login
from rest_framework import status
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from users.accounts import selectors
from users.api import errors
from users.api.errors import ApplicationError
from users.models import User

logger = logging.getLogger(__name__)


def auth_login(*, identifier: str, password: str) -> User:
    """The user these credentials belong to, or 401; 403 for an inactive or unverified account.

    Wrong password and unknown user look the same to the caller, and take the same time."""
    user = selectors.user_find_by_identifier(identifier=identifier)
    if user is None:
        User().set_password(password)
        raise ApplicationError(
            errors.INVALID_CREDENTIALS,
            "Phone number, email or password is incorrect.",
            status_code=status.HTTP_401_UNAUTHORIZED,
        )
    if not user.check_password(password):
        raise ApplicationError(
            errors.INVALID_CREDENTIALS,
            "Phone number, email or password is incorrect.",
            status_code=status.HTTP_401_UNAUTHORIZED,
        )
    if not user.is_active:
        raise ApplicationError(
            errors.ACCOUNT_INACTIVE,
            "This account is inactive. Contact an administrator.",
            status_code=status.HTTP_403_FORBIDDEN,
        )
    if not user.is_verified:
        raise ApplicationError(
            errors.VERIFICATION_REQUIRED,
            "Verify your phone number before signing in: reset your password with the PIN we "
            "send you by SMS.",
            status_code=status.HTTP_403_FORBIDDEN,
        )
    update_last_login(None, user)
    logger.info("[AUTH-LOGIN] user=%s", user.pk)
    return user


def auth_tokens_issue(*, user: User) -> dict[str, str]:
    refresh = RefreshToken.for_user(user)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def auth_logout(*, refresh: str) -> None:
    """Blacklists the refresh token, so it (and its rotation) can never be used again."""
    try:
        RefreshToken(refresh).blacklist()
    except TokenError:
        raise ApplicationError(
            errors.TOKEN_NOT_VALID,
            "Token is invalid or expired.",
            status_code=status.HTTP_401_UNAUTHORIZED,
        ) from None


def auth_sessions_revoke(*, user: User) -> None:
    """Blacklists every refresh token the user holds: each of their sessions ends at its next
    refresh (access tokens live JWT_ACCESS_MINUTES at most)."""
    for token in OutstandingToken.objects.filter(user=user):
        BlacklistedToken.objects.get_or_create(token=token)
