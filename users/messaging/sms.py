"""Text messages behind one small interface: sms_send for one text, SmsSender for a batch.

settings.SMS_BACKEND chooses where a text goes (users.messaging.backends). Only `twilio` reaches a
phone; with any other backend each serving process (web, worker) warns once at start-up. The log
names the kind of a text and its outcome, never its recipient or its words.
"""

import logging
import time

from django.conf import settings

from users.messaging.backends import BACKENDS, DISABLED, SmsResult, outbox

logger = logging.getLogger(__name__)

__all__ = ["SmsResult", "SmsSender", "outbox", "sms_configured", "sms_send", "warn_if_disabled"]


def sms_configured() -> bool:
    """Whether a text can be sent at all (a feature that only sends texts says so when not)."""
    return settings.SMS_BACKEND != DISABLED


def warn_if_disabled() -> None:
    """Called once by each serving process at start-up (primepre.wsgi, run_worker)."""
    if settings.SMS_BACKEND != "twilio":
        logger.warning(
            "[SMS-DISABLED] SMS_BACKEND=%s: no text reaches a phone (Twilio sends them when "
            "TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_PHONE_NUMBER are all set)",
            settings.SMS_BACKEND,
        )


class Pacer:
    """Spaces calls at most `per_second` a second (0: no limit), so a batch of texts stays within
    the provider's sending rate instead of overflowing its queue."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self.next_at = 0.0

    def wait(self) -> None:
        if not self.interval:
            return
        now = time.monotonic()
        if now < self.next_at:
            time.sleep(self.next_at - now)
            now = self.next_at
        self.next_at = now + self.interval


class SmsSender:
    """Sends texts through the configured backend, paced at settings.SMS_PER_SECOND; build one
    per batch of messages (it holds one backend, and Twilio's holds one HTTP client)."""

    def __init__(self) -> None:
        self.name = settings.SMS_BACKEND
        self.backend = BACKENDS[self.name]()
        self.pacer = Pacer(settings.SMS_PER_SECOND)

    def send(self, *, to: str, body: str, kind: str) -> SmsResult:
        if self.name != DISABLED:
            self.pacer.wait()
        result = self.backend.send(to=to, body=body, kind=kind)
        if result.sent:
            logger.info("[SMS-SENT] kind=%s backend=%s", kind, self.name)
        elif result.error != DISABLED:
            logger.warning("[SMS-FAILED] kind=%s error=%s", kind, result.error)
        return result


def sms_send(*, to: str, body: str, kind: str) -> SmsResult:
    return SmsSender().send(to=to, body=body, kind=kind)
