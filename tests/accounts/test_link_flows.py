"""The flows that text a sign-in link, through the SPA's own requests, with the texts caught by
the locmem SMS backend (the test settings'): sign-up and Forgot password."""

import re

import pytest
from django.test import Client

from bench.sms_texts import segments
from tests.factories import CustomerFactory, StaffFactory
from tests.spa import (
    FORGOT_PASSWORD,
    LEGACY_SIGNUP,
    RESEND_VERIFICATION,
    SIGNUP_FORM,
    SIGNUP_WITH_MARK,
    VERIFY_PHONE,
    Spa,
    fetch,
)
from users.accounts import reset, verification
from users.credentials.links import tokens
from users.messaging import sms
from users.messaging.invites import invite_text
from users.models import SignInLink, User

pytestmark = pytest.mark.django_db

LINK_RE = re.compile(r"https://api\.primepre\.test(/i/[0-9a-z]+/[0-9a-z]+-[0-9a-f]+/)")
LOGIN = "/api/auth/login/"
NEW_PASSWORD = "Harmattan-breeze-31"
# The longest link of the first 1.6 million accounts (a 4-character id) on Render's address.
RENDER_LINK = "https://primepre.onrender.com/i/zzzz/" + "d" * 6 + "-" + "f" * 32 + "/"


def texts_to(phone: str) -> list[str]:
    return [message.body for message in sms.outbox if message.to == phone]


def link_in(text: str) -> str:
    return LINK_RE.search(text).group(1)


def signs_in(phone: str, password: str) -> int:
    body = {"phone": phone, "password": password}
    return Client().post(LOGIN, body, content_type="application/json").status_code


def choose(path: str, password: str = NEW_PASSWORD) -> int:
    return Client().post(path, {"new_password1": password, "new_password2": password}).status_code


# Sign-up


def test_a_sign_up_through_the_spa_is_texted_a_link_that_confirms_the_number():
    Spa().post(SIGNUP_WITH_MARK, {**SIGNUP_FORM, "shipping_mark": "PM 1 AMA"})
    assert signs_in("0245551234", SIGNUP_FORM["password"]) == 403  # verification_required

    [text] = texts_to("+233245551234")
    confirmed = Client().post(link_in(text))

    assert confirmed.status_code == 200
    assert User.objects.get(phone="+233245551234").is_verified
    assert signs_in("0245551234", SIGNUP_FORM["password"]) == 200


def test_the_sign_up_text_still_holds_the_pin_of_the_legacy_verify_page():
    fetch(
        Client(),
        "POST",
        LEGACY_SIGNUP,
        {
            "name": "Kofi Boateng",
            "phone": "0245551235",
            "region": "Accra",
            "password": "Ga-Mashie-88",
        },
    )

    [text] = texts_to("+233245551235")
    pin = re.search(r"PIN (\d{6})\b", text).group(1)
    verified = fetch(Client(), "POST", VERIFY_PHONE, {"phone": "0245551235", "pin": pin})

    assert verified.body["success"] is True
    assert "tokens" in verified.body


def test_a_resent_text_has_a_new_link_that_voids_the_first(settings):
    settings.PHONE_VERIFICATION_RESEND_SECONDS = 0
    Spa().post(SIGNUP_WITH_MARK, {**SIGNUP_FORM, "shipping_mark": "PM 1 AMA"})

    fetch(Client(), "POST", RESEND_VERIFICATION, {"phone": "0245551234"})

    first, second = texts_to("+233245551234")
    assert Client().post(link_in(first)).status_code == 404
    assert Client().post(link_in(second)).status_code == 200
    assert User.objects.get(phone="+233245551234").is_verified


# Forgot password


def test_forgot_password_texts_a_link_and_the_new_password_signs_in():
    CustomerFactory(phone="+233241120001", password="Forgotten-one-1")

    answer = Spa().post(FORGOT_PASSWORD, {"phone": "024 112 0001"})
    [text] = texts_to("+233241120001")

    assert answer.success is True
    assert choose(link_in(text)) == 200
    assert signs_in("0241120001", NEW_PASSWORD) == 200
    assert signs_in("0241120001", "Forgotten-one-1") == 400


def test_an_imported_customer_without_a_password_gets_in_through_forgot_password():
    CustomerFactory(phone="+233241120002", is_verified=False)

    Spa().post(FORGOT_PASSWORD, {"phone": "0241120002"})
    [text] = texts_to("+233241120002")

    assert choose(link_in(text)) == 200
    assert signs_in("0241120002", NEW_PASSWORD) == 200


def test_forgot_password_texts_nothing_to_an_unknown_or_blocked_phone_and_answers_alike():
    CustomerFactory(phone="+233241120003", is_active=False)

    blocked = Spa().post(FORGOT_PASSWORD, {"phone": "0241120003"})
    unknown = Spa().post(FORGOT_PASSWORD, {"phone": "0241120004"})
    email = Spa().post(FORGOT_PASSWORD, {"phone": "someone@example.com"})

    assert sms.outbox == []
    assert SignInLink.objects.count() == 0
    assert blocked.data == unknown.data == email.data


def test_a_staff_account_that_forgot_its_password_gets_a_link_too():
    StaffFactory(phone="+233201120005")

    Spa().post(FORGOT_PASSWORD, {"phone": "0201120005"})
    [text] = texts_to("+233201120005")

    assert choose(link_in(text)) == 200
    assert signs_in("0201120005", NEW_PASSWORD) == 200


def test_reset_links_stop_at_the_hourly_limit_per_account(settings):
    settings.PASSWORD_RESET_MAX_PER_HOUR = 2
    CustomerFactory(phone="+233241120006")

    for _ in range(4):
        # From different addresses: the per-account limit holds whatever the address.
        Spa(client=Client(REMOTE_ADDR=f"192.0.2.{_}")).post(
            FORGOT_PASSWORD, {"phone": "0241120006"}
        )

    assert len(texts_to("+233241120006")) == 2


def test_a_newer_reset_link_voids_the_older_one():
    CustomerFactory(phone="+233241120007")
    Spa().post(FORGOT_PASSWORD, {"phone": "0241120007"})
    Spa().post(FORGOT_PASSWORD, {"phone": "0241120007"})

    first, second = texts_to("+233241120007")

    assert choose(link_in(first)) == 404
    assert choose(link_in(second)) == 200


# The texts


def test_a_django_token_has_the_length_the_segment_count_assumes():
    customer = CustomerFactory()
    SignInLink.objects.create(user=customer, purpose="invite")

    assert len(tokens.make_token(customer)) == len(RENDER_LINK.split("/")[-2])


@pytest.mark.parametrize(
    "text",
    [
        verification.verification_text(url=RENDER_LINK, pin="123456"),
        reset.reset_link_text(RENDER_LINK),
        invite_text(url=RENDER_LINK),
        verification.REGISTERED_TEXT,
    ],
    ids=["sign-up", "reset", "invite", "registered"],
)
def test_each_text_is_one_gsm7_segment_with_a_link_on_renders_address(text):
    assert segments(text) == ("GSM-7", 1)
