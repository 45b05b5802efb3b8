"""Sign-in by phone (any accepted format) or email, for the API and the Django admin."""

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.hashers import make_password
from rest_framework.exceptions import AuthenticationFailed

from users.accounts import selectors
from users.credentials import selectors as credentials
from users.web.permissions import is_signed_in


class PhoneOrEmailBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        identifier = username if username is not None else kwargs.get("phone")
        if not identifier or password is None:
            return None
        user = selectors.user_find_by_identifier(identifier=identifier)
        if user is None:
            # Spend the same time as a real check, so timing does not reveal who exists.
            make_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            # A temporary password past its hours signs in nowhere (the API's login says why).
            if credentials.password_expired(user=user):
                return None
            return user
        return None

    def get_user(self, user_id):
        """The user of a session (the Django admin's, or the API's session authentication),
        read at every request: none once the account may no longer sign in (blocked,
        unverified, its temporary password run out), so unticking Verified ends an open
        session as blocking does."""
        user = super().get_user(user_id)
        return user if user is not None and is_signed_in(user) else None


def user_can_use_api(user) -> bool:
    """simplejwt's rule, asked at every refresh: the API's (users.web.permissions.is_signed_in),
    so a blocked or unverified account's session ends at once, and one opened with a temporary
    password ends when the password does (401 password_expired, where the sign-in answers 403:
    the SPA ends a session on a failed refresh)."""
    if user is None:
        return False
    if credentials.password_expired(user=user):
        raise AuthenticationFailed(
            {"detail": credentials.SESSION_EXPIRED_MESSAGE, "code": credentials.PASSWORD_EXPIRED}
        )
    return is_signed_in(user)
