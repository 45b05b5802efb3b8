"""The PINs texted to a phone (password reset, phone verification): made by the secrets module,
issued one live PIN an account, stored hashed, and tried so that neither the answer nor its time
tells whether a phone has a PIN waiting. The one issuer for both kinds."""

import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache

from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from users.models import PasswordResetPin, PhoneVerificationPin, User

logger = logging.getLogger(__name__)

# The two kinds of texted PIN (both users.models.TextedPin).
PinModel = type[PasswordResetPin] | type[PhoneVerificationPin]


def new_pin() -> str:
    """Six digits from a CSPRNG."""
    return f"{secrets.randbelow(10**6):06d}"


def pin_issue(
    model: PinModel,
    *,
    accounts: QuerySet[User] | None,
    minutes: int,
    refused: Callable[[User, datetime], str],
    tag: str,
) -> tuple[User, str] | None:
    """A new PIN of `model` for the account of `accounts` (None: no account), lasting `minutes`,
    unless `refused` names a reason (a limit); the account's unused PINs end, so only the latest
    text's PIN works. The PIN is hashed before the account is looked up, so every branch costs
    one hash and the worker's load does not tell whether a phone has an account. Returns the
    account and the PIN to text, or None (the reason logged under `tag`). Run it inside the
    caller's transaction to issue more under the same row lock (a link beside the PIN)."""
    pin = new_pin()
    pin_hash = make_password(pin)
    user = accounts.first() if accounts is not None else None
    if user is None:
        logger.info("[%s] sent=0 reason=no_account", tag)
        return None
    now = timezone.now()
    with transaction.atomic():
        # The account's row lock: two requests at once cannot both pass the limits.
        User.objects.select_for_update().filter(pk=user.pk).first()
        if reason := refused(user, now):
            logger.info("[%s] user=%s sent=0 reason=%s", tag, user.pk, reason)
            return None
        model.objects.filter(user=user, used_at__isnull=True).update(used_at=now)
        model.objects.create(
            user=user,
            pin_hash=pin_hash,
            created_at=now,
            expires_at=now + timedelta(minutes=minutes),
        )
    return user, pin


@cache
def stand_in_hash() -> str:
    """A hash of a random secret with the default hasher: what a PIN is checked against when
    there is no PIN to check, so that such a try costs what a real one costs."""
    return make_password(secrets.token_hex(16))


def pin_try(
    model: PinModel,
    pending: PasswordResetPin | PhoneVerificationPin | None,
    pin: str,
    *,
    max_attempts: int,
) -> bool:
    """Whether `pin` is `pending`'s (a row of `model` not yet used, or None) and may still be
    used. The try is counted before the PIN is compared, by one conditional UPDATE that only a
    live PIN (unused, unexpired, with tries left) passes, so parallel guesses cannot share a try;
    and one hash is checked in every branch (the stand-in when there is nothing to count)."""
    counted = pending is not None and bool(
        model.objects.filter(
            pk=pending.pk,
            used_at__isnull=True,
            expires_at__gt=timezone.now(),
            attempts__lt=max_attempts,
        ).update(attempts=F("attempts") + 1)
    )
    stored = pending.pin_hash if counted and pending is not None else stand_in_hash()
    matches = check_password(str(pin), stored)
    return counted and matches


def pin_cost() -> None:
    """The work of making a PIN's hash, for a branch that makes none (so it costs the same)."""
    make_password(new_pin())
