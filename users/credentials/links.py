"""Sign-in links: the way a customer gets into their account without an administrator. A link
is texted to the account's phone (or made by an admin to pass on by hand) and opens one of the
pages in users.accounts.pages: set a first password (invite), confirm the phone number (sign-up),
choose a new password (forgot password).

The token is Django's password-reset token (PasswordResetTokenGenerator), the machinery behind
Django's own "forgotten your password?" links, so there is no hand-made cryptography here: an
HMAC of the account's password hash, last sign-in and the newest SignInLink of the account,
keyed by SECRET_KEY (and its fallbacks). Each of these voids a link when it changes: any
password change, a sign-in, and a newer link. The row of the link adds what a signature cannot:
one use (`used_at`) and an expiry per purpose (SIGN_IN_LINK_*), counted from when it was made.
"""

import enum
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.http import base36_to_int, int_to_base36

from users.credentials import services as credentials
from users.models import PasswordChange, SignInLink, User

logger = logging.getLogger(__name__)

# A user id in base 36 is at most 13 characters; a Django token is "<base36 time>-<32 hex>".
UID_MAX = 13
TOKEN_MAX = 48


class SignInLinkTokens(PasswordResetTokenGenerator):
    """Django's password-reset token, bound besides to the account's newest link (its id and
    purpose): a newer link voids the older ones, and a link of one purpose opens no other."""

    # The module's name when the first links were made: the salt is part of every token, so
    # links already texted keep working.
    key_salt = "users.accounts.links.SignInLinkTokens"

    def _make_hash_value(self, user: User, timestamp: int) -> str:
        newest = newest_link(user=user)
        bound = f"{newest.pk}{newest.purpose}" if newest is not None else ""
        return f"{super()._make_hash_value(user, timestamp)}{bound}"

    def signed(self, user: User, token: str) -> bool:
        """Whether `token` was made by make_token for `user` as the account stands now (with
        SECRET_KEY or a fallback). Django's check_token also applies PASSWORD_RESET_TIMEOUT, one
        age for every token; a link's age is its purpose's, and is checked on its row."""
        stamp, _, _ = token.partition("-")
        try:
            timestamp = base36_to_int(stamp)
        except ValueError:
            return False
        return any(
            constant_time_compare(self._make_token_with_timestamp(user, timestamp, secret), token)
            for secret in [self.secret, *self.secret_fallbacks]
        )


tokens = SignInLinkTokens()


class LinkState(enum.Enum):
    VALID = "valid"
    # Not a link of a live account, not signed, or voided by a newer link, a new password or
    # a sign-in: one answer for all, which tells nothing about any account.
    INVALID = "invalid"
    USED = "used"
    EXPIRED = "expired"


@dataclass(frozen=True)
class LinkCheck:
    state: LinkState
    user: User | None = None
    link: SignInLink | None = None


def link_max_age(purpose: str) -> timedelta:
    """How long a link of this purpose opens its page (settings SIGN_IN_LINK_*)."""
    return {
        SignInLink.Purpose.INVITE: timedelta(days=settings.SIGN_IN_LINK_INVITE_DAYS),
        SignInLink.Purpose.CONFIRM: timedelta(days=settings.SIGN_IN_LINK_CONFIRM_DAYS),
        SignInLink.Purpose.RESET: timedelta(minutes=settings.SIGN_IN_LINK_RESET_MINUTES),
    }[SignInLink.Purpose(purpose)]


def newest_link(*, user: User) -> SignInLink | None:
    return SignInLink.objects.filter(user=user).order_by("-created_at", "-pk").first()


def link_url(*, user: User, token: str) -> str:
    """The absolute URL of a link: SIGN_IN_LINK_BASE_URL (the backend's public address: the task
    worker that texts links has no request to read it from) and a short path, so that a text
    holding it fits in one SMS segment."""
    base = settings.SIGN_IN_LINK_BASE_URL.rstrip("/")
    if not base:
        raise ImproperlyConfigured(
            "SIGN_IN_LINK_BASE_URL is not set: sign-in links need the backend's public address."
        )
    path = reverse("sign-in-link", kwargs={"uid": int_to_base36(user.pk), "token": token})
    return f"{base}{path}"


def sign_in_link_issue(
    *, user: User, purpose: str, via: str, created_by: User | None = None
) -> str:
    """Records a new link for `user` (which voids the account's older ones) and returns its
    absolute URL. The caller decides whether the account may have one (the page checks only
    that the account is active)."""
    link = SignInLink.objects.create(
        user=user,
        purpose=SignInLink.Purpose(purpose),
        via=SignInLink.Via(via),
        created_by=created_by,
        created_at=timezone.now(),
    )
    return link_url(user=link.user, token=tokens.make_token(user))


def sign_in_link_check(*, uid: str, token: str, lock: bool = False) -> LinkCheck:
    """What a link's uid and token open, changing nothing (a GET of the page calls this: SMS
    apps and link previewers open links). With `lock`, inside a transaction, the account's row
    is locked until it ends."""
    try:
        user_id = base36_to_int(uid) if len(uid) <= UID_MAX else None
    except ValueError:
        user_id = None
    accounts = User.objects.select_for_update() if lock else User.objects
    user = accounts.filter(pk=user_id, is_active=True).first() if user_id else None
    link = newest_link(user=user) if user is not None else None
    if user is None or link is None or len(token) > TOKEN_MAX or not tokens.signed(user, token):
        return LinkCheck(LinkState.INVALID)
    if link.used_at is not None:
        return LinkCheck(LinkState.USED, user, link)
    if timezone.now() - link.created_at > link_max_age(link.purpose):
        return LinkCheck(LinkState.EXPIRED, user, link)
    return LinkCheck(LinkState.VALID, user, link)


def sign_in_link_use(*, link: SignInLink) -> bool:
    """Marks the link used, if nobody did first: of two requests bringing it at once, exactly
    one gets True. Call it inside the transaction that does what the link is for."""
    return bool(
        SignInLink.objects.filter(pk=link.pk, used_at__isnull=True).update(used_at=timezone.now())
    )


@transaction.atomic
def sign_in_link_act(*, uid: str, token: str, password: str | None = None) -> LinkCheck:
    """What a page's form does with a link, once: confirms the phone, and with `password`
    (already validated by the page's form) sets it as the holder's own, which ends every
    session of the account (users.credentials). The link is checked again under the account's
    row lock, so a password change or a newer link made meanwhile wins, and of two requests
    bringing it at once exactly one acts. A link reaching the phone proves it; one an admin
    made to pass on by hand carries the admin's word, as their Verified tick does. Answers the
    check (VALID when it acted)."""
    check = sign_in_link_check(uid=uid, token=token, lock=True)
    user, link = check.user, check.link
    if check.state != LinkState.VALID or user is None or link is None:
        return check
    if not sign_in_link_use(link=link):
        return LinkCheck(LinkState.USED, user, link)
    if not user.is_verified:
        user.is_verified = True
        user.save(update_fields=["is_verified"])
    if password is not None:
        credentials.password_store(
            user=user, password=password, set_by=user, kind=PasswordChange.Kind.LINK
        )
    logger.info(
        "[SIGN-IN-LINK] user=%s link=%s purpose=%s password=%d",
        user.pk,
        link.pk,
        link.purpose,
        int(password is not None),
    )
    return check
