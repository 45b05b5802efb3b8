"""The signed-in user's own account: signing in and out (credentials checked, tokens issued
and revoked), their profile, their password."""

import logging

from django.contrib.auth.models import update_last_login
from django.core.exceptions import ValidationError
from rest_framework import status
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from users import errors
from users.accounts import selectors
from users.credentials import selectors as credential_selectors
from users.credentials import services as credentials
from users.customers import rules, services
from users.errors import ApplicationError
from users.models import PasswordChange, User

logger = logging.getLogger(__name__)


WRONG_PASSWORD = "wrong_password"  # noqa: S105 (an error code)
PASSWORD_UNCHANGED = "password_unchanged"  # noqa: S105 (an error code)
READ_ONLY = "read_only"
_READ_ONLY_MESSAGES = {
    "phone": "Your phone number is changed by an administrator (or proved with an SMS PIN), "
    "not here.",
    "shipping_mark": "Your shipping mark is changed by an administrator, not here.",
    "user_role": "Your role is changed by a super admin, not here.",
    "is_verified": "Your account is verified by an SMS PIN or an administrator, not here.",
    "is_active": "Your account is blocked or unblocked by an administrator, not here.",
    "accessible_warehouses": "Your warehouses are set by a super admin, not here.",
}


def _wrong_credentials() -> ApplicationError:
    # 400, not 401: the SPA answers any 401 by refreshing its session, and with none (on the
    # sign-in page) by reloading the page, which wipes the message it shows for bad credentials.
    return ApplicationError(
        errors.INVALID_CREDENTIALS, "Phone number, email or password is incorrect."
    )


def auth_login(*, identifier: str, password: str) -> User:
    """The user these credentials belong to, or 400 invalid_credentials; 403 for an inactive or
    unverified account, or a temporary password past its hours.

    Wrong password and unknown user look the same to the caller, and take the same time."""
    user = selectors.user_find_by_identifier(identifier=identifier)
    if user is None:
        User().set_password(password)
        raise _wrong_credentials()
    if not user.check_password(password):
        raise _wrong_credentials()
    if credential_selectors.password_expired(user=user):
        raise ApplicationError(
            credential_selectors.PASSWORD_EXPIRED,
            credential_selectors.EXPIRED_MESSAGE,
            status_code=status.HTTP_403_FORBIDDEN,
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
            "Verify your phone number before signing in: open the link we texted you, or choose "
            "Forgot password on the sign-in page for a new one.",
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
        # 400, not 401: the SPA answers a 401 by refreshing with this same dead token.
        raise ApplicationError(errors.TOKEN_NOT_VALID, "Token is invalid or expired.") from None


def profile_update(*, user: User, data: dict) -> User:
    """A user's change of their own profile: names, company, email, region, user type. The
    read-only fields may be sent unchanged (the SPA's form always sends the phone); a change to
    one is refused, and nothing is saved."""
    problems = [
        rules.FieldProblem(field, READ_ONLY, _READ_ONLY_MESSAGES[field], "")
        for field in _READ_ONLY_MESSAGES
        if field in data and not _unchanged(user, field, data[field])
    ]
    if problems:
        raise services.problems_to_validation_error(problems)
    editable = {key: value for key, value in data.items() if key not in _READ_ONLY_MESSAGES}
    return services.user_update(user=user, data=editable, changed_by=user)


def _unchanged(user: User, field: str, value: object) -> bool:
    if field == "phone":
        try:
            return rules.normalize_phone(value) == user.phone
        except rules.FieldError:
            return False
    if field == "shipping_mark":
        try:
            return rules.normalize_shipping_mark(value) == user.shipping_mark
        except rules.FieldError:
            return False
    if field == "accessible_warehouses":
        return sorted(value or []) == sorted(user.accessible_warehouses or [])
    return value == getattr(user, field)


def password_change(
    *, user: User, old_password: str, new_password: str, confirm_password: str
) -> None:
    """The holder's own new password: the current one must be given (a wrong one is 400, never
    401: the SPA treats 401 as a dead session). Django's validators apply, and neither the
    current password nor a shared default will do. It ends a temporary password, and every
    session of the account (the caller signs in again with the new one)."""
    if not user.check_password(old_password):
        raise ValidationError(
            {
                "old_password": ValidationError(
                    "Your current password is not right.", code=WRONG_PASSWORD
                )
            }
        )
    problems: dict[str, list[ValidationError]] = {}
    if new_password != confirm_password:
        problems["confirm_password"] = [
            ValidationError(services.PASSWORDS_DIFFER, code="password_mismatch")
        ]
    found = credentials.password_problems(password=new_password, user=user, own=True)
    if new_password == old_password:
        found.insert(
            0,
            ValidationError(
                "Choose a new password, not the one you have now.", code=PASSWORD_UNCHANGED
            ),
        )
    if found:
        problems["new_password"] = found
    if problems:
        raise ValidationError(problems)
    credentials.password_store(
        user=user, password=new_password, set_by=user, kind=PasswordChange.Kind.CHANGED
    )
