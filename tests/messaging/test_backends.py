"""The SMS backends (SMS_BACKEND), how the setting picks one, and the pacing of a batch."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from twilio.base.exceptions import TwilioRestException

from users.messaging import sms

ROOT = Path(__file__).resolve().parents[2]
TO = "+233241000001"


def send(body: str = "Your link: https://example.test/x", kind: str = "invite") -> sms.SmsResult:
    return sms.sms_send(to=TO, body=body, kind=kind)


def test_locmem_keeps_each_text_in_the_outbox():
    result = send()

    assert result == sms.SmsResult(sent=True)
    [message] = sms.outbox
    assert (message.to, message.body, message.kind) == (
        TO,
        "Your link: https://example.test/x",
        "invite",
    )


def test_twilio_sends_through_its_client_from_the_configured_number(twilio):
    result = send()

    assert result.sent
    assert twilio.sent == [
        {"to": TO, "from_": "+15005550006", "body": "Your link: https://example.test/x"}
    ]
    assert sms.outbox == []


def test_a_twilio_failure_is_an_answer_with_its_code_not_an_exception(twilio, caplog):
    twilio.fail_with = TwilioRestException(status=400, uri="/Messages", msg="bad", code=21211)

    result = send()

    assert result == sms.SmsResult(sent=False, error="21211")
    assert "[SMS-FAILED] kind=invite error=21211" in caplog.text
    assert TO not in caplog.text


def test_the_file_backend_writes_one_file_per_text_headed_by_the_recipient(settings, tmp_path):
    settings.SMS_BACKEND = "file"
    settings.SMS_FILE_PATH = str(tmp_path / "sms")

    send("first")
    send("second")

    files = sorted((tmp_path / "sms").iterdir())
    assert [f.suffix for f in files] == [".txt", ".txt"]
    texts = [f.read_text(encoding="utf-8") for f in files]
    assert sorted(texts) == [
        f"To: {TO}\nKind: invite\n\nfirst\n",
        f"To: {TO}\nKind: invite\n\nsecond\n",
    ]


def test_the_console_backend_prints_the_text(settings, capsys):
    settings.SMS_BACKEND = "console"

    assert send("hello").sent

    assert f"To: {TO}\nKind: invite\n\nhello\n" in capsys.readouterr().out


def test_disabled_sends_nothing_and_says_so(settings):
    settings.SMS_BACKEND = "disabled"

    assert send() == sms.SmsResult(sent=False, error="disabled")
    assert not sms.sms_configured()
    assert sms.outbox == []


def test_a_sender_paces_its_texts_at_the_configured_rate(settings, monkeypatch):
    settings.SMS_PER_SECOND = 4
    clock = {"now": 100.0}
    sleeps = []

    def sleep(seconds):
        sleeps.append(round(seconds, 6))
        clock["now"] += seconds

    monkeypatch.setattr(sms.time, "monotonic", lambda: clock["now"])
    monkeypatch.setattr(sms.time, "sleep", sleep)
    sender = sms.SmsSender()

    for n in range(5):
        sender.send(to=TO, body=str(n), kind="invite")

    assert sleeps == [0.25, 0.25, 0.25, 0.25]
    assert len(sms.outbox) == 5


def test_without_a_rate_a_sender_never_waits(settings, monkeypatch):
    settings.SMS_PER_SECOND = 0
    monkeypatch.setattr(sms.time, "sleep", lambda seconds: pytest.fail("waited"))
    sender = sms.SmsSender()

    for n in range(3):
        sender.send(to=TO, body=str(n), kind="invite")

    assert len(sms.outbox) == 3


def chosen_backend(**env: str) -> subprocess.CompletedProcess:
    """SMS_BACKEND as the production settings choose it from this environment."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TWILIO_", "SMS_", "SIGN_IN_LINK_", "RENDER_", "DJANGO_SETTINGS"))
    }
    base.update(
        {"DEBUG": "0", "SECRET_KEY": "x" * 50, "DJANGO_SETTINGS_MODULE": "primepre.settings", **env}
    )
    code = "from django.conf import settings; print(settings.SMS_BACKEND)"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=base, capture_output=True, text=True
    )


BASE = {"SIGN_IN_LINK_BASE_URL": "https://api.example.com"}
TWILIO_ENV = {
    "TWILIO_ACCOUNT_SID": "AC1",
    "TWILIO_AUTH_TOKEN": "t",
    "TWILIO_PHONE_NUMBER": "+1500",
    **BASE,
}


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (TWILIO_ENV, "twilio"),
        ({**TWILIO_ENV, "DEBUG": "1"}, "twilio"),
        ({"DEBUG": "1"}, "console"),
        ({}, "disabled"),
        ({"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t"}, "disabled"),
        ({**TWILIO_ENV, "SMS_BACKEND": "disabled"}, "disabled"),
        ({"SMS_BACKEND": "file", "SMS_FILE_PATH": "/tmp/sms", **BASE}, "file"),
    ],
)
def test_the_default_backend_follows_the_twilio_settings_and_debug(env, expected):
    done = chosen_backend(**env)

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == expected


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SMS_BACKEND": "pigeon"}, "SMS_BACKEND must be one of"),
        ({"SMS_BACKEND": "twilio"}, "SMS_BACKEND=twilio needs TWILIO_ACCOUNT_SID"),
        ({"SMS_BACKEND": "file"}, "SMS_BACKEND=file needs SMS_FILE_PATH"),
        ({**TWILIO_ENV, "SIGN_IN_LINK_BASE_URL": ""}, "SMS_BACKEND=twilio needs SIGN_IN_LINK_BASE"),
    ],
)
def test_a_backend_that_cannot_work_stops_the_start(env, message):
    done = chosen_backend(**env)

    assert done.returncode != 0
    assert message in done.stderr
