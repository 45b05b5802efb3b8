"""Who may do what. The default for every view is IsStaff (settings.REST_FRAMEWORK)."""

from rest_framework import status
from rest_framework.permissions import BasePermission

from users.errors import VERIFICATION_REQUIRED, ApplicationError

UNVERIFIED_MESSAGE = (
    "Verify your phone number first: open the link we texted you, or choose Forgot password "
    "on the sign-in page for a new one."
)


def is_signed_in(user) -> bool:
    """Signed in with an account that may sign in: active and verified, its password not a
    temporary one past its hours (the login refuses the others; a token or an admin session
    opened before an account was blocked, unverified or its temporary password ran out stops
    working too)."""
    # Imported here: this module loads with DRF's settings, before the models may be.
    from users.credentials.selectors import password_expired

    return bool(
        user
        and user.is_authenticated
        and user.is_active
        and user.is_verified
        and not password_expired(user=user)
    )


def is_staff(user) -> bool:
    """An admin role (ADMIN, MANAGER, SUPER_ADMIN) or Django's is_staff; active, verified and
    signed in."""
    return bool(is_signed_in(user) and user.is_staff_member)


class IsStaff(BasePermission):
    """An admin role (ADMIN, MANAGER, SUPER_ADMIN) or Django's is_staff; active and signed in."""

    message = "Only staff can do this."

    def has_permission(self, request, view) -> bool:
        _refuse_unverified(request.user)
        return is_staff(request.user)


class IsAuthenticatedUser(BasePermission):
    """Any signed-in user whose account is active and verified: customers reach only their own
    profile through this."""

    def has_permission(self, request, view) -> bool:
        _refuse_unverified(request.user)
        return is_signed_in(request.user)


def _refuse_unverified(user) -> None:
    """403 verification_required (the login's code) for a token of an unverified account; 401
    password_expired for one opened with a temporary password that has run out (the SPA then
    tries a refresh, which is refused too, and signs out)."""
    if not (user and user.is_authenticated and user.is_active):
        return
    # Imported here: this module loads with DRF's settings, before the models may be.
    from users.credentials import selectors as credentials

    if not user.is_verified:
        raise ApplicationError(
            VERIFICATION_REQUIRED, UNVERIFIED_MESSAGE, status_code=status.HTTP_403_FORBIDDEN
        )
    if credentials.password_expired(user=user):
        raise ApplicationError(
            credentials.PASSWORD_EXPIRED,
            credentials.SESSION_EXPIRED_MESSAGE,
            status_code=status.HTTP_401_UNAUTHORIZED,
        )
