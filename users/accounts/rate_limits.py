"""Sign-in throttling: a rate per client address, and a lock-out per account after repeated
wrong passwords. Every attempt is counted before it is let through, by users.web.throttling's
atomic counter, so parallel requests cannot all read the same count and pass together."""

import hashlib
import time

from django.conf import settings

from users.accounts import selectors
from users.customers import rules
from users.web.throttling import AtomicRateThrottle, counter_clear, counter_hit


class LoginRateThrottle(AtomicRateThrottle):
    """Any sign-in request, right or wrong, per client address (NUM_PROXIES-aware)."""

    scope = "login"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class PasswordResetRateThrottle(LoginRateThrottle):
    scope = "password_reset"


def account_key(identifier: str) -> str:
    """What the lock-out counts by: the account an identifier names (so its phone in any format
    and its email share one count), or for an identifier of no account, its normalised form."""
    identifier = (identifier or "").strip()
    user = selectors.user_find_by_identifier(identifier=identifier)
    if user is not None:
        return f"user:{user.pk}"
    try:
        return f"phone:{rules.normalize_phone(identifier)}"
    except rules.FieldError:
        return f"text:{identifier.casefold()}"


class LoginFailureLock:
    """LOGIN_MAX_FAILURES wrong passwords for one account, from anywhere, lock it for
    LOGIN_LOCKOUT_SECONDS (counted from the first failure). An attempt is reserved before its
    password is checked; a right password clears the count."""

    def __init__(self, *, identifier: str):
        self.key = f"login-failures:{account_key(identifier)}"
        self.expires_at = 0.0

    def reserve(self) -> bool:
        """Counts one attempt; whether it may be checked (False: the account is locked)."""
        count, self.expires_at = counter_hit(key=self.key, window=settings.LOGIN_LOCKOUT_SECONDS)
        return count <= settings.LOGIN_MAX_FAILURES

    def wait(self) -> float:
        """Seconds until the account may be tried again, after reserve() refused."""
        return max(1.0, self.expires_at - time.time())

    def reset(self) -> None:
        counter_clear(key=self.key)


def client_ident(request) -> str:
    """The client address as DRF's throttles see it (NUM_PROXIES-aware)."""
    return LoginRateThrottle().get_ident(request)


class PhoneRateThrottle(LoginRateThrottle):
    """Requests naming one phone number, counted per number however it is written (E.164 when
    it parses), from any address. A body without a phone is not counted here (its per-address
    throttle still is)."""

    def get_cache_key(self, request, view):
        phone = request.data.get("phone") if isinstance(request.data, dict) else None
        if not isinstance(phone, str) or not phone.strip():
            return None
        try:
            key = rules.normalize_phone(phone.strip())
        except rules.FieldError:
            key = phone.strip().casefold()
        digest = hashlib.sha256(key.encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": digest}


class ShippingMarksRateThrottle(LoginRateThrottle):
    scope = "shipping_marks"


class SignupRateThrottle(LoginRateThrottle):
    scope = "signup"


class SignupPhoneRateThrottle(PhoneRateThrottle):
    scope = "signup_phone"


class VerifyPhoneRateThrottle(LoginRateThrottle):
    scope = "verify_phone"


class VerifyPhonePhoneRateThrottle(PhoneRateThrottle):
    scope = "verify_phone_phone"


class ResendVerificationRateThrottle(LoginRateThrottle):
    scope = "resend_verification"


class ResendVerificationPhoneRateThrottle(PhoneRateThrottle):
    scope = "resend_verification_phone"


class ForgotPasswordRateThrottle(LoginRateThrottle):
    scope = "forgot_password"


class ForgotPasswordPhoneRateThrottle(PhoneRateThrottle):
    scope = "forgot_password_phone"


class ClaimRateThrottle(LoginRateThrottle):
    scope = "claim"


class ClaimPhoneRateThrottle(PhoneRateThrottle):
    scope = "claim_phone"


class SignInLinkRateThrottle(LoginRateThrottle):
    """Every request of a sign-in link's page (users.accounts.pages), per client address."""

    scope = "sign_in_link"


class SignInLinkAccountRateThrottle(LoginRateThrottle):
    """The forms sent with a live link, per account: each costs a password's validation and
    hash. Requests with a link that opens nothing are not counted here, or anyone who knows an
    account's id could keep its holder out; the address rate bounds them."""

    scope = "sign_in_link_account"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": view.account_id}
