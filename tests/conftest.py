import os
import time

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core.cache import cache
from django_tasks import task_backends
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from tests.factories import CustomerFactory, StaffFactory
from users.messaging import backends, sms


def missing_service(reason: str) -> None:
    """Skips the test for a service this machine lacks (Postgres, Redis, a browser); under CI
    (CI=true) fails it instead, so that a CI machine without it cannot pass by skipping."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: a missing service fails the run)", pytrace=False)
    pytest.skip(reason)


def bearer_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters live in the cache; each test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _empty_outbox():
    """The locmem SMS backend's outbox (the test settings' backend) starts empty in each test."""
    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def staff(db):
    return StaffFactory()


@pytest.fixture
def staff_client(staff) -> APIClient:
    return bearer_client(staff)


@pytest.fixture
def customer(db):
    return CustomerFactory()


@pytest.fixture
def customer_client(customer) -> APIClient:
    return bearer_client(customer)


class FakeTwilio:
    """Stands in for twilio.rest.Client, the SMS provider's client: records what would have
    been sent, or fails the way Twilio fails."""

    sent: list[dict] = []
    fail_with: Exception | None = None

    def __init__(self, account_sid, auth_token, http_client=None):
        self.messages = self

    def create(self, *, to, from_, body):
        if FakeTwilio.fail_with is not None:
            raise FakeTwilio.fail_with
        FakeTwilio.sent.append({"to": to, "from_": from_, "body": body})


@pytest.fixture
def twilio(settings, monkeypatch):
    """SMS through the twilio backend, with the Twilio client faked."""
    settings.SMS_BACKEND = "twilio"
    settings.TWILIO_ACCOUNT_SID = "ACtest"
    settings.TWILIO_AUTH_TOKEN = "token"
    settings.TWILIO_PHONE_NUMBER = "+15005550006"
    FakeTwilio.sent = []
    FakeTwilio.fail_with = None
    monkeypatch.setattr(backends, "Client", FakeTwilio)
    return FakeTwilio


@pytest.fixture
def slow_hashing(monkeypatch):
    """Each password hash or check takes 30 ms, as PBKDF2 takes hundreds (time.sleep lets the
    other threads run meanwhile, as the hash does on the other cores): without it the test's
    fast hasher leaves no window for a race."""
    verify, encode = MD5PasswordHasher.verify, MD5PasswordHasher.encode

    def slow_verify(self, password, encoded):
        time.sleep(0.03)
        return verify(self, password, encoded)

    def slow_encode(self, password, salt):
        time.sleep(0.03)
        return encode(self, password, salt)

    monkeypatch.setattr(MD5PasswordHasher, "verify", slow_verify)
    monkeypatch.setattr(MD5PasswordHasher, "encode", slow_encode)


@pytest.fixture
def held_tasks(settings):
    """A queue that keeps the tasks a request queues instead of running them (as a worker that
    has not got to them yet): the request's own work alone."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    backend = task_backends["default"]
    backend.clear()
    yield backend.results
    backend.clear()
