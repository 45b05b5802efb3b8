"""Forgot password (SPA-CONTRACT.md 4.8), the account-claim page (4.9), New Client's register/
path (4.3 path B), and what every public endpoint shares: a stale Bearer is ignored, and each
is rate-limited per address and per phone."""

import re

import pytest
from django.test import Client
from rest_framework import status
from rest_framework.throttling import SimpleRateThrottle

from tests.conftest import bearer_client
from tests.factories import CustomerFactory, StaffFactory
from tests.spa import (
    FORGOT_PASSWORD,
    GENERATE_MARKS,
    LEGACY_SIGNUP,
    NEW_CLIENT,
    REGISTER,
    RESEND_VERIFICATION,
    SHIPPING_MARKS,
    SIGNUP_FORM,
    SIGNUP_WITH_MARK,
    VERIFY_MARK,
    VERIFY_MARK_CONFIRM,
    VERIFY_PHONE,
    Spa,
    fetch,
    mark_request,
    user_url,
)
from users.models import PasswordResetPin, User

pytestmark = pytest.mark.django_db


def test_forgot_password_answers_200_alike_for_any_phone():
    CustomerFactory(phone="+233241110000")
    spa = Spa()

    known = spa.post(FORGOT_PASSWORD, {"phone": "024 111 0000"})
    unknown = spa.post(FORGOT_PASSWORD, {"phone": "024 111 0001"})

    assert known.success is unknown.success is True
    assert known.data == unknown.data
    assert "phone" not in known.data


def test_forgot_password_leaves_the_password_unchanged():
    """Contract 5.1: the original reset any account to PrimeMade from an anonymous request."""
    customer = CustomerFactory(phone="+233241110000", password="Own-Secret-99")

    result = Spa().post(FORGOT_PASSWORD, {"phone": "0241110000"})

    assert result.success is True
    customer.refresh_from_db()
    assert customer.check_password("Own-Secret-99")
    assert not customer.check_password("PrimeMade")


def test_forgot_password_texts_a_reset_link_to_an_existing_account_only(twilio, client):
    CustomerFactory(phone="+233241110000")

    Spa().post(FORGOT_PASSWORD, {"phone": "0241110000"})
    Spa().post(FORGOT_PASSWORD, {"phone": "0241110001"})

    [sms] = twilio.sent
    assert sms["to"] == "+233241110000"
    path = re.search(r"https://api\.primepre\.test(/i/\S+/)", sms["body"]).group(1)
    password = "Fresh-Start-55"
    chosen = client.post(path, {"new_password1": password, "new_password2": password})
    assert chosen.status_code == status.HTTP_200_OK
    signed_in = client.post(
        "/api/auth/login/",
        {"phone": "0241110000", "password": password},
        content_type="application/json",
    )
    assert signed_in.status_code == status.HTTP_200_OK
    assert PasswordResetPin.objects.count() == 0


def test_the_shipping_marks_list_is_not_public():
    """Contract 5.9: the original listed every customer's mark to anyone."""
    CustomerFactory(shipping_mark="PM 1 SECRET")

    answer = fetch(Client(), "GET", SHIPPING_MARKS)

    assert answer.body["success"] is True
    assert answer.body["shipping_marks"] == []
    assert "PM 1 SECRET" not in str(answer.body)


@pytest.mark.parametrize("has_mark", [True, False])
def test_verify_shipping_mark_reveals_nothing_about_the_phones_account(has_mark):
    """Contract 5.3 and 5.8: the original answered the name, email and mark of the account."""
    customer = CustomerFactory(phone="+233241110000", is_verified=False)
    body = {
        "phone": "0241110000",
        "has_shipping_mark": has_mark,
        "shipping_mark": customer.shipping_mark if has_mark else "",
    }

    known = fetch(Client(), "POST", VERIFY_MARK, body)
    unknown = fetch(Client(), "POST", VERIFY_MARK, {**body, "phone": "0241110001"})

    assert known.body["success"] is False
    assert known.body["error"]  # the sentence the page shows
    assert (known.status, known.body) == (unknown.status, unknown.body)
    for value in (customer.first_name, customer.email, customer.shipping_mark):
        assert value not in str(known.body)


def test_confirm_without_proof_sets_no_password_and_verifies_nobody():
    """Contract 5.3: the original set the password of any unverified account given its phone."""
    customer = CustomerFactory(phone="+233241110000", is_verified=False)

    answer = fetch(
        Client(),
        "POST",
        VERIFY_MARK_CONFIRM,
        {
            "phone": "0241110000",
            "shipping_mark": customer.shipping_mark,
            "password": "Taken-Over-1",
            "confirm_password": "Taken-Over-1",
        },
    )

    assert answer.body["success"] is False
    assert "Forgot password" in answer.body["error"]
    customer.refresh_from_db()
    assert customer.has_usable_password() is False
    assert customer.is_verified is False


def test_register_is_not_public():
    """Contract 5.5: the original register/ made accounts for anyone, with live tokens."""
    body = {key: NEW_CLIENT[key] for key in NEW_CLIENT if key != "shipping_mark"}

    response = Client().post(REGISTER, body, content_type="application/json")

    assert response.status_code == status.HTTP_401_UNAUTHORIZED
    assert not User.objects.filter(phone="+233241234567").exists()


def test_register_creates_a_customer_for_staff_and_the_follow_up_patch_lands():
    """NewClientDialog path B: POST register/, then PATCH admin/users/{id}/ with the mark."""
    admin = StaffFactory()
    spa = Spa()
    spa.login(admin.phone, "staff-password-1")
    body = {
        key: NEW_CLIENT[key]
        for key in (
            "first_name",
            "last_name",
            "company_name",
            "email",
            "phone",
            "region",
            "user_type",
            "password",
            "confirm_password",
        )
    }

    created = spa.post(REGISTER, body)
    spa.patch(
        user_url(created.data["id"]),
        {
            "shipping_mark": "pm Gold 7",
            "is_verified": True,
            "user_role": "CUSTOMER",
            "is_active": True,
        },
    )

    assert created.status == status.HTTP_201_CREATED
    user = User.objects.get(pk=created.data["id"])
    assert (user.user_role, user.shipping_mark, user.created_by) == ("CUSTOMER", "PM GOLD 7", admin)


def test_register_is_refused_to_a_customer():
    customer = CustomerFactory()

    response = bearer_client(customer).post(REGISTER, NEW_CLIENT, format="json")

    assert response.status_code == status.HTTP_403_FORBIDDEN


PUBLIC_CALLS = [
    ("POST", GENERATE_MARKS, mark_request(SIGNUP_FORM)),
    ("POST", SIGNUP_WITH_MARK, {**SIGNUP_FORM, "shipping_mark": "PM 1 AMA"}),
    ("POST", FORGOT_PASSWORD, {"phone": "0241110000"}),
    ("GET", SHIPPING_MARKS, None),
    ("POST", VERIFY_MARK, {"phone": "0241110000", "has_shipping_mark": False, "shipping_mark": ""}),
    ("POST", LEGACY_SIGNUP, {"name": "Yaw Boateng", "phone": "0277123456", "password": "x"}),
    ("POST", VERIFY_PHONE, {"phone": "0277123456", "pin": "123456"}),
    ("POST", RESEND_VERIFICATION, {"phone": "0277123456"}),
]


@pytest.mark.parametrize(("method", "path", "body"), PUBLIC_CALLS)
def test_public_endpoints_ignore_a_stale_bearer(method, path, body):
    """Contract 3: the SPA attaches its token whenever it has one, expired or not."""
    stale = {"HTTP_AUTHORIZATION": "Bearer not.a.valid-token"}

    answer = fetch(Client(), method, path, body, **stale)

    assert answer.status not in (status.HTTP_401_UNAUTHORIZED, status.HTTP_404_NOT_FOUND)
    assert answer.body.get("code") not in ("token_not_valid", "authentication_failed")


@pytest.mark.parametrize(
    ("path", "body", "scope"),
    [
        (SIGNUP_WITH_MARK, {**SIGNUP_FORM, "shipping_mark": "PM 1 AMA"}, "signup_phone"),
        (FORGOT_PASSWORD, {"phone": "024 111 0000"}, "forgot_password_phone"),
        (VERIFY_PHONE, {"phone": "024 111 0000", "pin": "123456"}, "verify_phone_phone"),
        (RESEND_VERIFICATION, {"phone": "024 111 0000"}, "resend_verification_phone"),
        (VERIFY_MARK, {"phone": "024 111 0000", "has_shipping_mark": False}, "claim_phone"),
    ],
)
def test_one_phone_is_limited_from_any_address_however_it_is_written(
    monkeypatch, path, body, scope
):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, scope, "2/hour")
    spellings = ["0241110000", "+233 24 111 0000", "233241110000"]
    statuses = [
        Client(REMOTE_ADDR=f"10.0.0.{n}")
        .post(path, {**body, "phone": phone}, content_type="application/json")
        .status_code
        for n, phone in enumerate(spellings)
    ]

    assert statuses[-1] == status.HTTP_429_TOO_MANY_REQUESTS
    assert status.HTTP_429_TOO_MANY_REQUESTS not in statuses[:-1]


@pytest.mark.parametrize(
    ("method", "path", "body", "scope"),
    [
        ("POST", GENERATE_MARKS, mark_request(SIGNUP_FORM), "shipping_marks"),
        ("POST", SIGNUP_WITH_MARK, {**SIGNUP_FORM, "shipping_mark": "PM 1 AMA"}, "signup"),
        ("POST", LEGACY_SIGNUP, {"name": "Yaw B", "phone": "0277123456"}, "signup"),
        ("POST", FORGOT_PASSWORD, {"phone": "0241110000"}, "forgot_password"),
        ("POST", VERIFY_PHONE, {"phone": "0241110000", "pin": "1"}, "verify_phone"),
        ("POST", RESEND_VERIFICATION, {"phone": "0241110000"}, "resend_verification"),
        ("GET", SHIPPING_MARKS, None, "claim"),
        ("POST", VERIFY_MARK_CONFIRM, {"phone": "0241110000"}, "claim"),
    ],
)
def test_one_address_is_limited_whatever_phones_it_names(monkeypatch, method, path, body, scope):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, scope, "2/hour")
    client = Client(REMOTE_ADDR="10.0.0.9")
    statuses = []
    for n in range(3):
        named = {**body, "phone": f"024111000{n}"} if body and "phone" in body else body
        statuses.append(fetch(client, method, path, named).status)

    assert statuses[-1] == status.HTTP_429_TOO_MANY_REQUESTS
    assert status.HTTP_429_TOO_MANY_REQUESTS not in statuses[:-1]
