"""Password reset tells nobody whether a phone has an account: every branch answers the same and
does the same hashing work (bench/bench_reset.py measures the time through the real server);
and a PIN is used once, however many confirms race for it."""

import re
import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher, make_password
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import CustomerFactory
from users.models import PasswordResetPin

RESET = reverse("users:password-reset")
CONFIRM = reverse("users:password-reset-confirm")
NEW_PASSWORD = "a-Long-new-passphrase-7"


@pytest.fixture
def hashing(monkeypatch) -> Counter:
    """Counts the hasher's work: 'encode' (a hash made) and 'verify' (a hash checked)."""
    done: Counter = Counter()
    verify, encode = MD5PasswordHasher.verify, MD5PasswordHasher.encode

    def counted_verify(self, password, encoded):
        done["verify"] += 1
        return verify(self, password, encoded)

    def counted_encode(self, password, salt):
        done["encode"] += 1
        return encode(self, password, salt)

    monkeypatch.setattr(MD5PasswordHasher, "verify", counted_verify)
    monkeypatch.setattr(MD5PasswordHasher, "encode", counted_encode)
    return done


def pending_pin(user, pin="123456", **fields) -> PasswordResetPin:
    now = timezone.now()
    values = {"created_at": now, "expires_at": now + timedelta(minutes=10), **fields}
    return PasswordResetPin.objects.create(user=user, pin_hash=make_password(pin), **values)


@pytest.fixture
def accounts(db, settings):
    """Phones for every branch of a reset request."""
    CustomerFactory(phone="+233241000001")
    limited = CustomerFactory(phone="+233241000002", email="limited@example.com")
    for _ in range(settings.PASSWORD_RESET_MAX_PER_HOUR):
        pending_pin(limited, used_at=timezone.now())


REQUEST_BRANCHES = {
    "existing phone, first request": "0241000001",
    "existing phone, over the hourly limit": "0241000002",
    "phone without an account": "0551234567",
    "an email": "limited@example.com",
    "not a phone": "hello",
}


@pytest.mark.parametrize("branch", REQUEST_BRANCHES)
def test_every_branch_of_a_reset_request_answers_alike_and_hashes_once(
    branch, accounts, twilio, hashing
):
    answer = APIClient().post(RESET, {"phone": REQUEST_BRANCHES[branch]}, format="json")

    assert (answer.status_code, answer.json()) == (
        200,
        {"success": True, "message": answer.json()["message"]},
    )
    assert answer.json()["message"].startswith("If an account exists for this phone number")
    assert hashing == {"encode": 1}


@pytest.fixture
def confirm_accounts(db):
    pending_pin(CustomerFactory(phone="+233241000011"))
    CustomerFactory(phone="+233241000012")
    pending_pin(CustomerFactory(phone="+233241000013"), expires_at=timezone.now())
    pending_pin(CustomerFactory(phone="+233241000014"), attempts=5)
    CustomerFactory(phone="+233241000015", email="someone@example.com")


CONFIRM_BRANCHES = {
    "a pending PIN": "0241000011",
    "no pending PIN": "0241000012",
    "an expired PIN": "0241000013",
    "a PIN out of tries": "0241000014",
    "a phone without an account": "0551234567",
    "an email": "someone@example.com",
}


def test_a_wrong_pin_gets_one_answer_in_every_branch(confirm_accounts):
    answers = {
        branch: APIClient().post(
            CONFIRM, {"phone": phone, "pin": "000000", "new_password": NEW_PASSWORD}, format="json"
        )
        for branch, phone in CONFIRM_BRANCHES.items()
    }

    bodies = {(answer.status_code, answer.content) for answer in answers.values()}
    assert len(bodies) == 1
    [(code, _)] = bodies
    assert code == 400
    assert answers["a pending PIN"].json()["code"] == "invalid_pin"


@pytest.mark.parametrize("branch", CONFIRM_BRANCHES)
def test_every_branch_of_a_wrong_confirm_checks_one_hash(branch, confirm_accounts, hashing):
    hashing.clear()
    APIClient().post(
        CONFIRM,
        {"phone": CONFIRM_BRANCHES[branch], "pin": "000000", "new_password": NEW_PASSWORD},
        format="json",
    )

    assert hashing["verify"] == 1


@pytest.mark.django_db(transaction=True)
def test_four_simultaneous_confirms_with_the_right_pin_succeed_once(twilio, slow_hashing):
    customer = CustomerFactory(phone="+233241234567", is_verified=False)
    APIClient().post(RESET, {"phone": "0241234567"}, format="json")
    pin = re.search(r"\b(\d{6})\b", twilio.sent[-1]["body"]).group(1)
    start = threading.Barrier(4)
    statuses: list[int] = []

    def confirm(n):
        try:
            start.wait()
            body = {"phone": "0241234567", "pin": pin, "new_password": f"{NEW_PASSWORD}-{n}"}
            statuses.append(APIClient().post(CONFIRM, body, format="json").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=confirm, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200, 400, 400, 400]
    assert customer.password_changes.count() == 1


@pytest.mark.django_db(transaction=True)
def test_twelve_simultaneous_wrong_pins_are_checked_five_times_in_all(slow_hashing, settings):
    customer = CustomerFactory(phone="+233241234567")
    reset = pending_pin(customer)
    start = threading.Barrier(12)

    def guess(n):
        try:
            start.wait()
            body = {"phone": "0241234567", "pin": f"{n:06d}", "new_password": NEW_PASSWORD}
            APIClient().post(CONFIRM, body, format="json")
        finally:
            connection.close()

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    reset.refresh_from_db()
    assert reset.attempts == settings.PASSWORD_RESET_MAX_ATTEMPTS
    right = APIClient().post(
        CONFIRM,
        {"phone": "0241234567", "pin": "123456", "new_password": NEW_PASSWORD},
        format="json",
    )
    assert right.json()["code"] == "invalid_pin"
