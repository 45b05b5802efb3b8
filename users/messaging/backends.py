"""The ways a text can leave the system, chosen by settings.SMS_BACKEND, as Django chooses an
email backend by EMAIL_BACKEND: `twilio` sends it, `console` prints it (development), `file`
writes one file per message (a browser test reads it), `locmem` keeps it in
users.messaging.sms.outbox (the test suite) and `disabled` drops it.

Each backend answers every message with an SmsResult and never raises for a provider's failure:
a text is a side effect, and the request or task that sends it must not fail because of it."""

import os
import sys
import tempfile
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

TWILIO_TIMEOUT_SECONDS = 10
DISABLED = "disabled"


@dataclass(frozen=True)
class SmsResult:
    sent: bool
    error: str = ""


@dataclass(frozen=True)
class SmsMessage:
    """A text as the locmem backend keeps it (like django.core.mail's outbox entries)."""

    to: str
    body: str
    kind: str


def message_text(*, to: str, body: str, kind: str) -> str:
    """A message as the console and file backends write it: headers, a blank line, the text
    (the layout of Django's file-based email backend, so a test reads it the same way)."""
    return f"To: {to}\nKind: {kind}\n\n{body}\n"


class TwilioBackend:
    """Sends through Twilio's REST API; one HTTP client per backend (one per batch of texts)."""

    def __init__(self) -> None:
        self.client = Client(
            settings.TWILIO_ACCOUNT_SID,
            settings.TWILIO_AUTH_TOKEN,
            http_client=TwilioHttpClient(timeout=TWILIO_TIMEOUT_SECONDS),
        )

    def send(self, *, to: str, body: str, kind: str) -> SmsResult:
        try:
            self.client.messages.create(to=to, from_=settings.TWILIO_PHONE_NUMBER, body=body)
        except TwilioException as error:
            return SmsResult(
                sent=False, error=str(getattr(error, "code", None) or type(error).__name__)
            )
        return SmsResult(sent=True)


class ConsoleBackend:
    """Prints each text to stdout, for a developer's machine (the default with DEBUG on and no
    Twilio settings), so a PIN or a link can be read off the console and only there."""

    lock = threading.Lock()

    def send(self, *, to: str, body: str, kind: str) -> SmsResult:
        with self.lock:
            sys.stdout.write(message_text(to=to, body=body, kind=kind) + "-" * 79 + "\n")
            sys.stdout.flush()
        return SmsResult(sent=True)


class FileBackend:
    """Writes each text to a file of its own in SMS_FILE_PATH (made if missing). The file
    appears whole or not at all (written aside, then renamed), so a reader polling the
    directory never reads half a message."""

    def __init__(self) -> None:
        if not settings.SMS_FILE_PATH:
            raise ImproperlyConfigured("SMS_BACKEND=file needs SMS_FILE_PATH (a directory).")
        self.directory = Path(settings.SMS_FILE_PATH)
        self.directory.mkdir(parents=True, exist_ok=True)

    def send(self, *, to: str, body: str, kind: str) -> SmsResult:
        name = f"{datetime.now():%Y%m%d-%H%M%S-%f}-{uuid.uuid4().hex[:8]}.txt"
        descriptor, scratch = tempfile.mkstemp(dir=self.directory, suffix=".part")
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(message_text(to=to, body=body, kind=kind))
        os.replace(scratch, self.directory / name)
        return SmsResult(sent=True)


# The texts the locmem backend kept (settings.SMS_BACKEND = "locmem", the test suite's), read as
# users.messaging.sms.outbox; emptied in place (never rebound) by the test suite per test.
outbox: list[SmsMessage] = []


class LocmemBackend:
    """Keeps each text in `outbox`."""

    def send(self, *, to: str, body: str, kind: str) -> SmsResult:
        outbox.append(SmsMessage(to=to, body=body, kind=kind))
        return SmsResult(sent=True)


class DisabledBackend:
    """SMS is off: nothing is sent and the caller is told so."""

    def send(self, *, to: str, body: str, kind: str) -> SmsResult:
        return SmsResult(sent=False, error=DISABLED)


BACKENDS = {
    "twilio": TwilioBackend,
    "console": ConsoleBackend,
    "file": FileBackend,
    "locmem": LocmemBackend,
    DISABLED: DisabledBackend,
}
