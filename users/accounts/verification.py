"""Proof that a new account's phone is its holder's: a PIN texted at sign-up (and again on
request) that verifies the account when it comes back.

Every answer is the same whether or not the phone has an account, and takes about the same
time (one PIN hash either way). A PIN is stored hashed, expires, dies after a few wrong guesses,
and is used once even when two requests bring it at the same instant: its use is a conditional
UPDATE that only one of them can win."""

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from users.accounts import pins, selectors
from users.api.errors import ApplicationError
from users.messaging.sms import sms_send
from users.models import PhoneVerificationPin, User

logger = logging.getLogger(__name__)

INVALID_PIN = "invalid_pin"
# One answer for every failure: a distinct "expired" or "too many tries" would tell a caller
# that the phone has an account waiting for verification.
WRONG_PIN_MESSAGE = (
    "The PIN is not right, or it has expired or been tried too often. Check the SMS, or ask "
    "for a new PIN."
)
RESEND_MESSAGE = (
    "If this phone number has an account waiting for verification, a new PIN is on its way by SMS."
)


def verification_text(pin: str) -> str:
    return (
        f"Your primepre verification PIN is {pin}. It expires in "
        f"{settings.PHONE_VERIFICATION_PIN_MINUTES} minutes. Do not share it."
    )


def verification_pin_issue(*, user: User) -> None:
    """Ends the account's unused PINs and texts it a new one."""
    pin = pins.new_pin()
    now = timezone.now()
    with transaction.atomic():
        PhoneVerificationPin.objects.filter(user=user, used_at__isnull=True).update(used_at=now)
        PhoneVerificationPin.objects.create(
            user=user,
            pin_hash=make_password(pin),
            created_at=now,
            expires_at=now + timedelta(minutes=settings.PHONE_VERIFICATION_PIN_MINUTES),
        )
    result = sms_send(to=user.phone, body=verification_text(pin), kind="verification_pin")
    logger.info("[PHONE-VERIFY-SEND] user=%s sent=%d", user.pk, int(result.sent))


def verification_pin_resend(*, phone: str) -> None:
    """A new PIN for an unverified account with this phone, unless one went out less than
    PHONE_VERIFICATION_RESEND_SECONDS ago or PHONE_VERIFICATION_MAX_PER_HOUR already did.
    The caller learns nothing either way."""
    user = selectors.user_find_by_identifier(identifier=phone)
    if user is None or "@" in phone or user.is_verified or not user.is_active:
        pins.pin_cost()  # the cost of the real path's hash
        logger.info("[PHONE-VERIFY-RESEND] sent=0 reason=no_pending_account")
        return
    now = timezone.now()
    recent = PhoneVerificationPin.objects.filter(
        user=user, created_at__gte=now - timedelta(hours=1)
    ).values_list("created_at", flat=True)
    latest = max(recent, default=None)
    cooldown = timedelta(seconds=settings.PHONE_VERIFICATION_RESEND_SECONDS)
    if latest is not None and now - latest < cooldown:
        pins.pin_cost()
        logger.info("[PHONE-VERIFY-RESEND] user=%s sent=0 reason=cooldown", user.pk)
        return
    if len(recent) >= settings.PHONE_VERIFICATION_MAX_PER_HOUR:
        pins.pin_cost()
        logger.info("[PHONE-VERIFY-RESEND] user=%s sent=0 reason=hourly_limit", user.pk)
        return
    verification_pin_issue(user=user)


def phone_verify(*, phone: str, pin: str) -> User:
    """The account, now verified, if `pin` is its live PIN; otherwise 400 invalid_pin, for
    every reason alike: a wrong PIN, an expired one, one tried PHONE_VERIFICATION_MAX_ATTEMPTS
    times, a phone without an account, an account already verified or blocked."""
    wrong = ApplicationError(INVALID_PIN, WRONG_PIN_MESSAGE)
    user = None if "@" in phone else selectors.user_find_by_identifier(identifier=phone)
    pending = user is not None and user.is_active and not user.is_verified
    live = (
        PhoneVerificationPin.objects.filter(user=user, used_at__isnull=True).first()
        if pending
        else None
    )
    if not pins.pin_try(
        PhoneVerificationPin, live, pin, max_attempts=settings.PHONE_VERIFICATION_MAX_ATTEMPTS
    ):
        if user is not None:
            logger.info("[PHONE-VERIFY] user=%s ok=0", user.pk)
        raise wrong
    with transaction.atomic():
        # Only one request can mark the PIN used; any other one bringing it loses here.
        used = PhoneVerificationPin.objects.filter(pk=live.pk, used_at__isnull=True).update(
            used_at=timezone.now()
        )
        if not used:
            raise wrong
        User.objects.filter(pk=user.pk).update(is_verified=True)
    user.is_verified = True
    logger.info("[PHONE-VERIFY] user=%s ok=1", user.pk)
    return user
