"""Sign-up with a chosen shipping mark (SPA-CONTRACT.md 4.7), replayed as the page sends it."""

import re

import pytest
from django.test import Client
from rest_framework import status

from tests.factories import CustomerFactory
from tests.spa import (
    GENERATE_MARKS,
    LOGIN,
    SIGNUP_FORM,
    SIGNUP_WITH_MARK,
    Spa,
    fetch,
    mark_request,
)
from users.accounts import tasks as verification
from users.models import PasswordChange, PhoneVerificationPin, User

pytestmark = pytest.mark.django_db

PIN = re.compile(r"\b(\d{6})\b")


def suggestions(client: Client, form: dict = SIGNUP_FORM) -> list[str]:
    answer = fetch(client, "POST", GENERATE_MARKS, mark_request(form))
    assert answer.body["success"] is True
    return answer.body["suggestions"]


def sign_up(client: Client, form: dict = SIGNUP_FORM, mark: str | None = None):
    """ShippingMarkSelection: the first suggestion auto-selected, then the signup."""
    mark = mark or suggestions(client, form)[0]
    return fetch(client, "POST", SIGNUP_WITH_MARK, {**form, "shipping_mark": mark})


def test_generate_shipping_marks_answers_four_free_marks_by_the_project_rule(client):
    CustomerFactory(shipping_mark="PM 1 AMA")

    answer = fetch(client, "POST", GENERATE_MARKS, mark_request(SIGNUP_FORM))

    assert answer.status == status.HTTP_200_OK
    assert answer.body["success"] is True
    marks = answer.body["suggestions"]
    assert len(marks) == len(set(marks)) == 4
    assert "PM 1 AMA" not in marks
    assert marks[0] == "PM 1 AMA02"
    assert all(re.fullmatch(r"PM 1 [A-Z0-9]{2,6}(\d\d)?", mark) for mark in marks)
    assert not User.objects.filter(shipping_mark__in=marks).exists()


def test_generate_shipping_marks_without_a_name_is_success_false_with_a_message(client):
    answer = fetch(client, "POST", GENERATE_MARKS, {**mark_request(SIGNUP_FORM), "first_name": ""})

    assert answer.status == status.HTTP_400_BAD_REQUEST
    assert answer.body["success"] is False
    assert "First name" in answer.body["message"]


def test_signup_creates_an_unverified_customer_and_texts_a_pin(client, twilio):
    mark = suggestions(client)[0]

    answer = fetch(client, "POST", SIGNUP_WITH_MARK, {**SIGNUP_FORM, "shipping_mark": mark})

    assert answer.body["success"] is True
    user = answer.body["data"]["user"]
    assert (user["user_role"], user["first_name"], user["shipping_mark"]) == (
        "CUSTOMER",
        "Ama",
        mark,
    )
    assert "tokens" not in answer.body["data"]
    created = User.objects.get(phone="+233245551234")
    assert (created.user_role, created.is_verified, created.shipping_mark) == (
        "CUSTOMER",
        False,
        mark,
    )
    assert created.check_password(SIGNUP_FORM["password"])
    assert created.password_expires_at is None
    assert PasswordChange.objects.get(user=created).kind == PasswordChange.Kind.SIGNUP
    [sms] = twilio.sent
    assert sms["to"] == "+233245551234"
    pin = PIN.search(sms["body"]).group(1)
    stored = PhoneVerificationPin.objects.get(user=created)
    assert pin not in stored.pin_hash


def test_a_self_signed_up_customer_cannot_sign_in_before_verifying(client):
    sign_up(client)

    result = Spa().login(SIGNUP_FORM["phone"], SIGNUP_FORM["password"])

    assert result.success is False
    assert result.status == status.HTTP_403_FORBIDDEN


def test_a_mark_taken_meanwhile_is_409_shipping_mark_taken_and_nothing_is_created(client):
    mark = suggestions(client)[0]
    CustomerFactory(shipping_mark=mark)

    answer = sign_up(client, mark=mark.lower())

    assert answer.status == status.HTTP_409_CONFLICT
    assert (answer.body["success"], answer.body["error"]) == (False, "shipping_mark_taken")
    assert answer.body["message"]
    assert not User.objects.filter(phone="+233245551234").exists()


def test_a_weak_password_is_refused_with_a_message_the_page_shows(client):
    form = {**SIGNUP_FORM, "password": "12345678", "confirm_password": "12345678"}

    answer = sign_up(client, form)

    assert answer.status == status.HTTP_400_BAD_REQUEST
    assert answer.body["success"] is False
    assert "Password:" in answer.body["message"]
    assert not User.objects.filter(phone="+233245551234").exists()


def test_the_apps_shared_default_is_refused_as_a_signup_password(client):
    form = {**SIGNUP_FORM, "password": "PrimeMade1", "confirm_password": "PrimeMade1"}

    answer = sign_up(client, form)

    assert answer.body["success"] is False
    assert "known to others" in answer.body["message"]


def test_passwords_that_differ_are_refused(client):
    answer = sign_up(client, {**SIGNUP_FORM, "confirm_password": "Kente-Loom-43"})

    assert answer.body["success"] is False
    assert "not the same" in answer.body["message"]


def _answer_for_new_details(client) -> tuple:
    answer = sign_up(client, mark="PM 1 AMA")
    User.objects.filter(phone="+233245551234").delete()
    return answer.status, answer.body


def test_signup_answers_a_registered_phone_exactly_as_a_new_one(client, twilio):
    """Contract 5.4 and 5.8: the original said "phone already exists" and verified nobody."""
    new = _answer_for_new_details(client)
    holder = CustomerFactory(phone="+233245551234", email="someone@example.com")

    registered = sign_up(client, mark="PM 1 AMA")

    assert (registered.status, registered.body) == new
    assert User.objects.filter(phone="+233245551234").get() == holder
    assert not User.objects.filter(shipping_mark="PM 1 AMA").exists()
    assert twilio.sent[-1]["to"] == "+233245551234"
    assert "already registered" in twilio.sent[-1]["body"]


def test_signup_answers_a_registered_email_exactly_as_a_new_one(client):
    new = _answer_for_new_details(client)
    CustomerFactory(phone="+233201112233", email=SIGNUP_FORM["email"].upper())

    registered = sign_up(client, mark="PM 1 AMA")

    assert (registered.status, registered.body) == new
    assert not User.objects.filter(phone="+233245551234").exists()


def test_a_weak_password_is_refused_alike_for_a_registered_phone(client):
    CustomerFactory(phone="+233245551234")
    form = {**SIGNUP_FORM, "password": "12345678", "confirm_password": "12345678"}

    answer = sign_up(client, form, mark="PM 1 AMA")

    assert answer.status == status.HTTP_400_BAD_REQUEST
    assert "phone" not in answer.body["message"].lower()
    assert set(answer.body["errors"]) == {"password"}


def test_signup_marks_nobody_verified_and_gives_no_tokens(client):
    """Contract 5.4: the original created the account verified, with live tokens."""
    answer = sign_up(client)

    assert "tokens" not in answer.body["data"]
    assert User.objects.get(phone="+233245551234").is_verified is False


def test_login_with_the_signup_phone_as_typed_says_nothing_before_verification(client):
    sign_up(client)

    response = client.post(
        LOGIN,
        {"phone": SIGNUP_FORM["phone"], "password": SIGNUP_FORM["password"]},
        content_type="application/json",
    )

    assert response.json()["code"] == "verification_required"
    assert "tokens" not in response.json()


def test_the_pin_and_the_registered_notice_are_made_and_texted_by_the_worker(
    client, twilio, held_tasks
):
    """The answer waits for no SMS provider: the request queues one task either way."""
    new = sign_up(client, mark="PM 1 AMA")
    created = User.objects.get(phone="+233245551234")
    assert (twilio.sent, PhoneVerificationPin.objects.count()) == ([], 0)
    [queued] = held_tasks
    assert queued.task.func is verification.verification_pin_send_task.func
    assert queued.kwargs == {"user_id": created.pk}

    registered = sign_up(client, mark="PM 2 AMA")  # the same phone and email again
    assert (registered.status, registered.body["success"]) == (new.status, True)
    assert twilio.sent == []
    notice = held_tasks[-1]
    assert notice.task.func is verification.registered_details_notice_task.func
    assert notice.kwargs == {"phone": "+233245551234"}

    for result in held_tasks:
        result.task.call(*result.args, **result.kwargs)
    pin, registered_notice = twilio.sent
    assert pin["to"] == registered_notice["to"] == "+233245551234"
    assert PIN.search(pin["body"])
    assert "already registered" in registered_notice["body"]
    assert PhoneVerificationPin.objects.filter(user=created).count() == 1
