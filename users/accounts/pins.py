"""The PINs texted to a phone (password reset, phone verification): made by the secrets module,
issued one live PIN an account, stored hashed, and tried so that neither the answer nor its time
tells whether a phone has a PIN waiting. The one issuer for both kinds."""

import secrets
from datetime import datetime, timedelta
from functools import cache

from django.contrib.auth.hashers import check_password, make_password
from django.db.models import F
from django.utils import timezone

from users.models import TextedPin, User


def new_pin() -> str:
    """Six digits from a CSPRNG."""
    return f"{secrets.randbelow(10**6):06d}"


def pin_hashed() -> tuple[str, str]:
    """A new PIN and its hash. Made before the account is looked up, so that every branch of a
    send, with an account or without, costs one hash."""
    pin = new_pin()
    return pin, make_password(pin)


def pin_store(
    model: type[TextedPin], *, user: User, pin_hash: str, now: datetime, minutes: int
) -> None:
    """`user`'s new live PIN of `model`, lasting `minutes`; the unused ones it had end, so only
    the PIN of the latest text works. Called under the account's row lock."""
    model.objects.filter(user=user, used_at__isnull=True).update(used_at=now)
    model.objects.create(
        user=user, pin_hash=pin_hash, created_at=now, expires_at=now + timedelta(minutes=minutes)
    )


@cache
def stand_in_hash() -> str:
    """A hash of a random secret with the default hasher: what a PIN is checked against when
    there is no PIN to check, so that such a try costs what a real one costs."""
    return make_password(secrets.token_hex(16))


def pin_try(
    model: type[TextedPin], pending: TextedPin | None, pin: str, *, max_attempts: int
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
    matches = check_password(str(pin), pending.pin_hash if counted else stand_in_hash())
    return counted and matches


def pin_cost() -> None:
    """The work of making a PIN's hash, for a branch that makes none (so it costs the same)."""
    make_password(new_pin())
