"""Proof that a new account's phone is its holder's: a text at sign-up (and again on request)
holding a link to the "confirm your number" page (users.accounts.pages) and a PIN for the
legacy verify page; either verifies the account when it comes back.

Every answer is the same whether or not the phone has an account, after the same work: a
request looks up an id and queues a task (users.accounts.tasks); the worker decides, hashes
once in every branch and texts. A PIN is stored hashed, expires, dies after a few wrong guesses,
and is used once even when two requests bring it at the same instant: its use is a conditional
UPDATE that only one of them can win."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from users.accounts import pins, selectors
from users.credentials import links
from users.errors import INVALID_PIN, ApplicationError
from users.messaging.sms import sms_send
from users.models import PhoneVerificationPin, SignInLink, User

logger = logging.getLogger(__name__)

# One answer for every failure: a distinct "expired" or "too many tries" would tell a caller
# that the phone has an account waiting for verification.
WRONG_PIN_MESSAGE = (
    "The PIN is not right, or it has expired or been tried too often. Check the SMS, or ask "
    "for a new PIN."
)
RESEND_MESSAGE = (
    "If this phone number has an account waiting for verification, a new link and PIN are on "
    "their way by SMS."
)


REGISTERED_TEXT = (
    "primepre: someone tried to sign up with this number, which is already registered. If it "
    "was you, sign in or choose Forgot password. If not, ignore this."
)


def verification_text(*, url: str, pin: str) -> str:
    """The sign-up text: the link first (it is what the live sign-up needs), then the PIN for
    the legacy verify page. GSM-7 characters only, to fit one SMS segment."""
    return (
        f"primepre: confirm your number at {url} or enter PIN {pin} "
        f"({settings.PHONE_VERIFICATION_PIN_MINUTES} min). Do not share."
    )


def verification_pin_send(*, user_id: int | None, resend: bool = False) -> bool:
    """The worker's half of a sign-up (users.accounts.tasks): a new PIN, stored hashed (the
    account's unused ones end), and a new confirm link (older links end), texted to the
    account's phone, if the account is active and still unverified; with `resend`, unless one
    went out less than PHONE_VERIFICATION_RESEND_SECONDS ago or PHONE_VERIFICATION_MAX_PER_HOUR
    already did this hour. Every branch hashes once, so the worker's load does not tell either.
    Whether a text was sent."""
    pending = User.objects.filter(pk=user_id, is_active=True, is_verified=False)
    with transaction.atomic():
        issued = pins.pin_issue(
            PhoneVerificationPin,
            accounts=pending if user_id else None,
            minutes=settings.PHONE_VERIFICATION_PIN_MINUTES,
            refused=_resend_refused if resend else _never_refused,
            tag="PHONE-VERIFY-SEND",
        )
        if issued is None:
            return False
        user, pin = issued
        url = links.sign_in_link_issue(
            user=user, purpose=SignInLink.Purpose.CONFIRM, via=SignInLink.Via.SMS
        )
    result = sms_send(
        to=user.phone, body=verification_text(url=url, pin=pin), kind="verification_pin"
    )
    logger.info("[PHONE-VERIFY-SEND] user=%s sent=%d", user.pk, int(result.sent))
    return bool(result.sent)


def registered_details_notice(*, phone: str) -> bool:
    """The worker's half of a sign-up with details already registered (users.accounts.signup):
    one SMS to the phone given (its holder learns someone tried), after a PIN's hash, as a new
    account's PIN costs the worker. Whether it was sent."""
    pins.pin_cost()
    result = sms_send(to=phone, body=REGISTERED_TEXT, kind="signup_registered")
    logger.info("[SIGNUP] created=0 reason=registered sent=%d", int(result.sent))
    return bool(result.sent)


def _never_refused(user: User, now: datetime) -> str:
    """A sign-up's first text: no limit applies."""
    return ""


def _resend_refused(user: User, now: datetime) -> str:
    """Why a new PIN may not go out now ("" when it may)."""
    recent = PhoneVerificationPin.objects.filter(
        user=user, created_at__gte=now - timedelta(hours=1)
    ).values_list("created_at", flat=True)
    latest = max(recent, default=None)
    if latest is not None and now - latest < timedelta(
        seconds=settings.PHONE_VERIFICATION_RESEND_SECONDS
    ):
        return "cooldown"
    if len(recent) >= settings.PHONE_VERIFICATION_MAX_PER_HOUR:
        return "hourly_limit"
    return ""


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
