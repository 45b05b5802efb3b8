"""Password reset by SMS PIN: the way imported customers (who have no password) get one, and the
proof that a phone is theirs (a successful reset marks the account verified)."""

import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from users.accounts import selectors
from users.api.errors import ApplicationError
from users.credentials import services as credentials
from users.messaging.sms import sms_send
from users.models import PasswordChange, PasswordResetPin, User

logger = logging.getLogger(__name__)

INVALID_PIN = "invalid_pin"
PIN_EXPIRED = "pin_expired"
PIN_ATTEMPTS_EXCEEDED = "pin_attempts_exceeded"
REQUEST_MESSAGE = (
    "If an account exists for this phone number, a PIN has been sent to it by SMS. "
    "It is valid for 10 minutes."
)


def _pin_text(pin: str) -> str:
    return (
        f"Your primepre PIN is {pin}. It expires in "
        f"{settings.PASSWORD_RESET_PIN_MINUTES} minutes. Do not share it."
    )


def password_reset_request(*, phone: str) -> None:
    """Texts a new PIN to the account with this phone, if there is one. The caller learns
    nothing either way (the answer is the same)."""
    user = selectors.user_find_by_identifier(identifier=phone)
    if user is None or "@" in phone or not user.is_active:
        make_password("0")  # about the same time as the real path
        logger.info("[PASSWORD-RESET] sent=0 reason=no_account")
        return
    now = timezone.now()
    recent = PasswordResetPin.objects.filter(user=user, created_at__gte=now - timedelta(hours=1))
    if recent.count() >= settings.PASSWORD_RESET_MAX_PER_HOUR:
        logger.info("[PASSWORD-RESET] user=%s sent=0 reason=hourly_limit", user.pk)
        return
    pin = f"{secrets.randbelow(10**6):06d}"
    with transaction.atomic():
        PasswordResetPin.objects.filter(user=user, used_at__isnull=True).update(used_at=now)
        PasswordResetPin.objects.create(
            user=user,
            pin_hash=make_password(pin),
            created_at=now,
            expires_at=now + timedelta(minutes=settings.PASSWORD_RESET_PIN_MINUTES),
        )
    result = sms_send(to=user.phone, body=_pin_text(pin), kind="reset_pin")
    logger.info("[PASSWORD-RESET] user=%s sent=%d", user.pk, int(result.sent))


def password_reset_confirm(*, phone: str, pin: str, new_password: str) -> User:
    """Sets the new password if the PIN is right; the account is then verified and every
    refresh token it had is revoked."""
    user = selectors.user_find_by_identifier(identifier=phone)
    wrong = ApplicationError(
        INVALID_PIN, "The PIN is not right. Check the SMS, or ask for a new PIN."
    )
    if user is None or "@" in phone:
        raise wrong
    with transaction.atomic():
        reset = (
            PasswordResetPin.objects.select_for_update()
            .filter(user=user, used_at__isnull=True)
            .first()
        )
        if reset is None:
            raise wrong
        if reset.expires_at <= timezone.now():
            raise ApplicationError(PIN_EXPIRED, "The PIN has expired. Ask for a new one.")
        if reset.attempts >= settings.PASSWORD_RESET_MAX_ATTEMPTS:
            raise ApplicationError(PIN_ATTEMPTS_EXCEEDED, "Too many wrong PINs. Ask for a new one.")
        matches = check_password(str(pin), reset.pin_hash)
        if not matches:
            reset.attempts += 1
            reset.save(update_fields=["attempts"])
    if not matches:
        logger.info("[PASSWORD-RESET-CONFIRM] user=%s ok=0 attempts=%s", user.pk, reset.attempts)
        raise wrong
    problems = credentials.password_problems(password=new_password, user=user, own=True)
    if problems:
        raise ValidationError({"new_password": problems})
    with transaction.atomic():
        PasswordResetPin.objects.filter(pk=reset.pk).update(used_at=timezone.now())
        user.is_verified = True
        user.save(update_fields=["is_verified"])
        credentials.password_store(
            user=user, password=new_password, set_by=user, kind=PasswordChange.Kind.PIN_RESET
        )
    logger.info("[PASSWORD-RESET-CONFIRM] user=%s ok=1", user.pk)
    return user
