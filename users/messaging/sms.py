"""Text messages behind one small interface.

Twilio sends them when TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_PHONE_NUMBER are all set.
Otherwise SMS is off: each serving process (web, worker) warns once at start-up, nothing fails,
and with DEBUG on the text is logged instead of sent (so a PIN can be read off a developer's
console, and only there).
"""

import logging
from dataclasses import dataclass

from django.conf import settings
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

logger = logging.getLogger(__name__)

TWILIO_TIMEOUT_SECONDS = 10
DISABLED = "disabled"


@dataclass(frozen=True)
class SmsResult:
    sent: bool
    error: str = ""


def sms_configured() -> bool:
    return all(
        (settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_PHONE_NUMBER)
    )


def warn_if_disabled() -> None:
    """Called once by each serving process at start-up (primepre.wsgi, run_worker)."""
    if not sms_configured():
        logger.warning(
            "[SMS-DISABLED] TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_PHONE_NUMBER are "
            "not all set: SMS is off%s",
            " and messages are logged instead (DEBUG)" if settings.DEBUG else "",
        )


class SmsSender:
    """Sends texts; build one per batch of messages (it holds one HTTP client)."""

    def __init__(self):
        self.client = (
            Client(
                settings.TWILIO_ACCOUNT_SID,
                settings.TWILIO_AUTH_TOKEN,
                http_client=TwilioHttpClient(timeout=TWILIO_TIMEOUT_SECONDS),
            )
            if sms_configured()
            else None
        )

    def send(self, *, to: str, body: str, kind: str) -> SmsResult:
        if self.client is None:
            if settings.DEBUG:
                logger.info("[SMS-DEBUG] kind=%s body=%r", kind, body)
            return SmsResult(sent=False, error=DISABLED)
        try:
            self.client.messages.create(to=to, from_=settings.TWILIO_PHONE_NUMBER, body=body)
        except TwilioException as error:
            code = getattr(error, "code", None) or type(error).__name__
            logger.warning("[SMS-FAILED] kind=%s error=%s", kind, code)
            return SmsResult(sent=False, error=str(code))
        logger.info("[SMS-SENT] kind=%s", kind)
        return SmsResult(sent=True)


def sms_send(*, to: str, body: str, kind: str) -> SmsResult:
    return SmsSender().send(to=to, body=body, kind=kind)
