"""Password reset by SMS: a link to the "choose a new password" page (users.accounts.pages), which
the SPA's Forgot password texts, or a PIN for the API's password/reset/ endpoints. Either proves
that the phone is the holder's (a successful reset marks the account verified).

Neither the answers nor their time tell whether a phone has an account. A request does the same
work for every phone (users.accounts.tasks.password_reset_request: one indexed look-up, one task
queued); the worker then decides, hashes and texts (password_reset_pin_send). A confirm checks
the PIN against a hash in every branch: the pending PIN's, or a stand-in of the same hasher when
there is none to check."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from users.accounts import pins
from users.credentials import links
from users.credentials import services as credentials
from users.customers import rules
from users.errors import INVALID_PIN, ApplicationError
from users.messaging.sms import sms_send
from users.models import PasswordChange, PasswordResetPin, SignInLink, User

logger = logging.getLogger(__name__)

REQUEST_MESSAGE = (
    "If an account exists for this phone number, a PIN has been sent to it by SMS. "
    "It is valid for 10 minutes."
)
# One answer for a wrong, expired, exhausted or missing PIN, and for a phone of no account:
# "expired" or "too many tries" would tell that the phone has an account.
INVALID_PIN_MESSAGE = (
    "The PIN is not right, or no longer valid (a PIN lasts 10 minutes and 5 tries). Check the "
    "SMS, or ask for a new PIN."
)


def _pin_text(pin: str) -> str:
    return (
        f"Your primepre PIN is {pin}. It expires in "
        f"{settings.PASSWORD_RESET_PIN_MINUTES} minutes. Do not share it."
    )


def _active_accounts(identifier: str):
    """The active account a phone names, as a query on one index whatever the identifier (an
    email or an invalid number looks up the empty phone, which nobody has)."""
    try:
        phone = rules.normalize_phone(identifier) if "@" not in identifier else ""
    except rules.FieldError:
        phone = ""
    return User.objects.filter(phone=phone, is_active=True)


def _account_of(identifier: str) -> User | None:
    return _active_accounts(identifier).first()


def account_id_of(identifier: str) -> int | None:
    """The id of the active account a phone names, and only the id: building the account would
    cost time that shows in the answer."""
    return _active_accounts(identifier).values_list("pk", flat=True).first()


def password_reset_pin_send(*, user_id: int | None) -> bool:
    """The worker's half of a request: a new PIN, stored hashed, texted to the account's phone,
    unless there is no such account or PASSWORD_RESET_MAX_PER_HOUR were sent this hour. Every
    branch hashes once, so the worker's load does not tell either. Whether a PIN was sent."""
    issued = pins.pin_issue(
        PasswordResetPin,
        accounts=User.objects.filter(pk=user_id, is_active=True) if user_id else None,
        minutes=settings.PASSWORD_RESET_PIN_MINUTES,
        refused=_hourly_limit_reached,
        tag="PASSWORD-RESET",
    )
    if issued is None:
        return False
    user, pin = issued
    result = sms_send(to=user.phone, body=_pin_text(pin), kind="reset_pin")
    logger.info("[PASSWORD-RESET] user=%s sent=%d", user.pk, int(result.sent))
    return bool(result.sent)


def _hourly_limit_reached(user: User, now: datetime) -> str:
    """Why no reset PIN may go out now ("" when it may)."""
    recent = PasswordResetPin.objects.filter(user=user, created_at__gte=now - timedelta(hours=1))
    return "hourly_limit" if recent.count() >= settings.PASSWORD_RESET_MAX_PER_HOUR else ""


def reset_link_text(url: str) -> str:
    """GSM-7 characters only, to fit one SMS segment."""
    return (
        f"primepre: choose a new password at {url} within "
        f"{settings.SIGN_IN_LINK_RESET_MINUTES} min. Not you? Ignore this."
    )


def password_reset_link_send(*, user_id: int | None) -> bool:
    """The worker's half of the SPA's Forgot password: a new reset link (older links of the
    account end) texted to the active account's phone, unless there is no such account or
    PASSWORD_RESET_MAX_PER_HOUR reset links went to it this hour. Whether one was sent."""
    user = User.objects.filter(pk=user_id, is_active=True).first() if user_id else None
    if user is None:
        logger.info("[PASSWORD-RESET-LINK] sent=0 reason=no_account")
        return False
    since = timezone.now() - timedelta(hours=1)
    with transaction.atomic():
        # The account's row lock: two requests at once cannot both pass the hourly limit.
        User.objects.select_for_update().filter(pk=user.pk).first()
        recent = SignInLink.objects.filter(
            user=user, purpose=SignInLink.Purpose.RESET, created_at__gte=since
        )
        if recent.count() >= settings.PASSWORD_RESET_MAX_PER_HOUR:
            logger.info("[PASSWORD-RESET-LINK] user=%s sent=0 reason=hourly_limit", user.pk)
            return False
        url = links.sign_in_link_issue(
            user=user, purpose=SignInLink.Purpose.RESET, via=SignInLink.Via.SMS
        )
    result = sms_send(to=user.phone, body=reset_link_text(url), kind="reset_link")
    logger.info("[PASSWORD-RESET-LINK] user=%s sent=%d", user.pk, int(result.sent))
    return bool(result.sent)


def password_reset_confirm(*, phone: str, pin: str, new_password: str) -> User:
    """Sets the new password if the PIN is right; the account is then verified and every
    refresh token it had is revoked.

    Each try is counted before the PIN is checked (a conditional UPDATE that only a PIN with
    tries left passes), so parallel guesses get PASSWORD_RESET_MAX_ATTEMPTS checks in all; and
    the PIN is consumed by another conditional UPDATE in the transaction that sets the password,
    so of parallel right confirms exactly one succeeds."""
    wrong = ApplicationError(INVALID_PIN, INVALID_PIN_MESSAGE)
    user = _account_of(phone)
    now = timezone.now()
    pending = None
    if user is not None:
        pending = PasswordResetPin.objects.filter(user=user, used_at__isnull=True).first()
    if not pins.pin_try(
        PasswordResetPin, pending, pin, max_attempts=settings.PASSWORD_RESET_MAX_ATTEMPTS
    ):
        if user is not None:
            logger.info("[PASSWORD-RESET-CONFIRM] user=%s ok=0", user.pk)
        raise wrong
    problems = credentials.password_problems(password=new_password, user=user, own=True)
    if problems:
        # The PIN stays usable for a better password; this try is given back.
        PasswordResetPin.objects.filter(pk=pending.pk).update(attempts=F("attempts") - 1)
        raise ValidationError({"new_password": problems})
    with transaction.atomic():
        consumed = PasswordResetPin.objects.filter(
            pk=pending.pk, used_at__isnull=True, expires_at__gt=now
        ).update(used_at=timezone.now())
        if not consumed:
            raise wrong  # a parallel confirm used it first
        user.is_verified = True
        user.save(update_fields=["is_verified"])
        credentials.password_store(
            user=user, password=new_password, set_by=user, kind=PasswordChange.Kind.PIN_RESET
        )
    logger.info("[PASSWORD-RESET-CONFIRM] user=%s ok=1", user.pk)
    return user
