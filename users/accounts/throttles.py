"""Login throttling: a rate per client, and a lock-out per client and identifier after repeated
wrong passwords. Counts live in the shared cache, so every worker process sees the same numbers."""

import hashlib
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import AnonRateThrottle

from users.customers import rules


class LoginRateThrottle(AnonRateThrottle):
    """Any login request, right or wrong, per client address."""

    scope = "login"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class PasswordResetRateThrottle(LoginRateThrottle):
    scope = "password_reset"


def _identifier_key(identifier: str) -> str:
    identifier = (identifier or "").strip()
    try:
        return rules.normalize_phone(identifier)
    except rules.FieldError:
        return identifier.lower()


class LoginFailureLock:
    """After LOGIN_MAX_FAILURES wrong passwords for one identifier from one client, that pair is
    refused for LOGIN_LOCKOUT_SECONDS (counted from the first failure)."""

    def __init__(self, *, client: str, identifier: str):
        digest = hashlib.sha256(f"{client}|{_identifier_key(identifier)}".encode()).hexdigest()
        self.key = f"login-failures:{digest}"

    def _state(self) -> tuple[int, float]:
        return cache.get(self.key, (0, time.time() + settings.LOGIN_LOCKOUT_SECONDS))

    def wait(self) -> float | None:
        """Seconds until the pair may try again, or None if it may try now."""
        count, expires_at = self._state()
        if count >= settings.LOGIN_MAX_FAILURES:
            return max(1.0, expires_at - time.time())
        return None

    def record_failure(self) -> None:
        count, expires_at = self._state()
        timeout = max(1, int(expires_at - time.time()))
        cache.set(self.key, (count + 1, expires_at), timeout=timeout)

    def reset(self) -> None:
        cache.delete(self.key)


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
        digest = hashlib.sha256(_identifier_key(phone).encode()).hexdigest()
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
