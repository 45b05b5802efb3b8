"""Password reset by SMS PIN, with Twilio faked at its client boundary."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework import status

from tests.factories import CustomerFactory
from users.messaging import sms
from users.models import PasswordResetPin

pytestmark = pytest.mark.django_db

RESET = reverse("users:password-reset")
CONFIRM = reverse("users:password-reset-confirm")
LOGIN = reverse("users:login")
NEW_PASSWORD = "a-Long-new-passphrase-7"


@pytest.fixture
def customer_with_phone():
    return CustomerFactory(phone="+233241234567", is_verified=False)


def pin_of(message: dict) -> str:
    return re.search(r"\b(\d{6})\b", message["body"]).group(1)


def request_pin(client, phone="0241234567"):
    return client.post(RESET, {"phone": phone}, format="json")


def confirm(client, pin, phone="0241234567", password=NEW_PASSWORD):
    return client.post(
        CONFIRM, {"phone": phone, "pin": pin, "new_password": password}, format="json"
    )


def test_a_reset_texts_a_six_digit_pin_to_the_customers_phone(
    api_client, twilio, customer_with_phone
):
    response = request_pin(api_client)

    assert response.status_code == status.HTTP_200_OK
    [message] = twilio.sent
    assert message["to"] == "+233241234567"
    assert message["from_"] == "+15005550006"
    assert len(pin_of(message)) == 6


def test_the_pin_is_stored_hashed(api_client, twilio, customer_with_phone):
    request_pin(api_client)

    stored = PasswordResetPin.objects.get(user=customer_with_phone)
    assert pin_of(twilio.sent[0]) not in stored.pin_hash


def test_the_answer_is_the_same_for_an_unknown_phone(api_client, twilio, customer_with_phone):
    known = request_pin(api_client)
    unknown = request_pin(api_client, phone="0551234567")

    assert unknown.status_code == known.status_code == status.HTTP_200_OK
    assert unknown.json() == known.json()
    assert len(twilio.sent) == 1


def test_the_right_pin_sets_the_password_and_verifies_the_account(
    api_client, twilio, customer_with_phone
):
    request_pin(api_client)

    response = confirm(api_client, pin_of(twilio.sent[0]))

    assert response.status_code == status.HTTP_200_OK
    customer_with_phone.refresh_from_db()
    assert customer_with_phone.check_password(NEW_PASSWORD)
    assert customer_with_phone.is_verified is True
    login = api_client.post(LOGIN, {"phone": "0241234567", "password": NEW_PASSWORD}, format="json")
    assert login.status_code == status.HTTP_200_OK


def test_a_pin_works_once(api_client, twilio, customer_with_phone):
    request_pin(api_client)
    pin = pin_of(twilio.sent[0])
    confirm(api_client, pin)

    again = confirm(api_client, pin, password="another-Long-passphrase-8")

    assert again.json()["code"] == "invalid_pin"


def test_a_wrong_pin_is_refused(api_client, twilio, customer_with_phone):
    request_pin(api_client)
    wrong = "000000" if pin_of(twilio.sent[0]) != "000000" else "111111"

    response = confirm(api_client, wrong)

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json()["code"] == "invalid_pin"
    customer_with_phone.refresh_from_db()
    assert customer_with_phone.has_usable_password() is False


def test_five_wrong_pins_end_the_pin_even_for_the_right_one(
    api_client, twilio, customer_with_phone
):
    request_pin(api_client)
    pin = pin_of(twilio.sent[0])
    wrong = "000000" if pin != "000000" else "111111"
    for _ in range(5):
        confirm(api_client, wrong)

    response = confirm(api_client, pin)

    assert response.json()["code"] == "invalid_pin"


def test_a_pin_expires_after_ten_minutes(api_client, twilio, customer_with_phone):
    request_pin(api_client)
    PasswordResetPin.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = confirm(api_client, pin_of(twilio.sent[0]))

    assert response.json()["code"] == "invalid_pin"


def test_the_pin_is_valid_for_ten_minutes(api_client, twilio, customer_with_phone):
    request_pin(api_client)

    stored = PasswordResetPin.objects.get()
    assert stored.expires_at - stored.created_at == timedelta(minutes=10)


def test_a_new_pin_replaces_the_previous_one(api_client, twilio, customer_with_phone):
    request_pin(api_client)
    request_pin(api_client)
    first, second = (pin_of(m) for m in twilio.sent)

    if first != second:
        assert confirm(api_client, first).json()["code"] == "invalid_pin"
    assert confirm(api_client, second).status_code == status.HTTP_200_OK


def test_a_weak_new_password_is_refused_and_the_pin_stays_usable(
    api_client, twilio, customer_with_phone
):
    request_pin(api_client)
    pin = pin_of(twilio.sent[0])

    weak = confirm(api_client, pin, password="123")
    strong = confirm(api_client, pin)

    assert weak.status_code == status.HTTP_400_BAD_REQUEST
    assert "new_password" in weak.json()["errors"]
    assert strong.status_code == status.HTTP_200_OK


def test_pins_per_phone_per_hour_are_limited(api_client, twilio, customer_with_phone, settings):
    settings.PASSWORD_RESET_MAX_PER_HOUR = 2

    for _ in range(3):
        request_pin(api_client)

    assert len(twilio.sent) == 2


def test_an_sms_failure_does_not_fail_the_request(api_client, twilio, customer_with_phone):
    from twilio.base.exceptions import TwilioRestException

    twilio.fail_with = TwilioRestException(status=400, uri="/Messages", msg="bad", code=21211)

    response = request_pin(api_client)

    assert response.status_code == status.HTTP_200_OK


def test_with_sms_disabled_nothing_is_sent_and_nothing_fails(
    api_client, settings, customer_with_phone, caplog
):
    settings.SMS_BACKEND = "disabled"

    response = request_pin(api_client)

    assert response.status_code == status.HTTP_200_OK
    assert PasswordResetPin.objects.count() == 1
    assert sms.outbox == []
    assert "+233241234567" not in caplog.text


def test_with_the_console_backend_the_pin_is_printed_and_not_logged(
    api_client, settings, customer_with_phone, caplog, capsys
):
    settings.SMS_BACKEND = "console"

    request_pin(api_client)

    printed = capsys.readouterr().out
    assert "To: +233241234567\nKind: reset_pin\n\n" in printed
    assert re.search(r"\b\d{6}\b", printed)
    assert "[SMS-SENT] kind=reset_pin" in caplog.text
    assert "+233241234567" not in caplog.text


def test_a_backend_that_reaches_no_phone_logs_one_warning_at_start_up(settings, caplog):
    settings.SMS_BACKEND = "console"

    sms.warn_if_disabled()

    assert caplog.text.count("[SMS-DISABLED] SMS_BACKEND=console") == 1


def test_a_reset_revokes_the_accounts_refresh_tokens(api_client, twilio):
    from tests.factories import StaffFactory

    StaffFactory(phone="+233241234567")
    tokens = api_client.post(
        LOGIN, {"phone": "0241234567", "password": "staff-password-1"}, format="json"
    ).json()["tokens"]
    request_pin(api_client)
    confirm(api_client, pin_of(twilio.sent[0]))

    response = api_client.post(
        reverse("users:token-refresh"), {"refresh": tokens["refresh"]}, format="json"
    )

    assert response.status_code == status.HTTP_401_UNAUTHORIZED
