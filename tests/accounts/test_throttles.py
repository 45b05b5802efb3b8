"""Sign-in limits under parallel requests: every attempt is counted before its password is
checked, atomically, in the database (the default) and in Redis; the lock-out counts per
account, whatever spelling of it is tried."""

import threading
import time
from collections import Counter

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from tests.conftest import missing_service
from tests.factories import StaffFactory
from users.admin import forms as admin_forms
from users.web import throttling

pytestmark = pytest.mark.django_db(transaction=True)

LOGIN = reverse("users:login")
ADMIN_LOGIN = "/admin/login/"
PASSWORD = "staff-password-1"


@pytest.fixture
def database_cache(settings):
    """The production default, CACHE_URL=dbcache://: Django's database cache."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "primepre_test_cache",
        }
    }
    call_command("createcachetable", verbosity=0)


def in_parallel(bodies: list[dict], path: str = LOGIN) -> Counter:
    """POSTs every body at once, one thread each; the statuses answered."""
    start = threading.Barrier(len(bodies))
    statuses: list[int] = []

    def send(body):
        try:
            start.wait()
            statuses.append(APIClient().post(path, body, format="json").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Counter(statuses)


def test_25_parallel_wrong_passwords_for_one_account_check_only_login_max_failures(
    database_cache, slow_hashing, settings
):
    StaffFactory(phone="+233241234567")

    statuses = in_parallel([{"phone": "0241234567", "password": "wrong"}] * 25)

    assert statuses == {400: settings.LOGIN_MAX_FAILURES, 429: 25 - settings.LOGIN_MAX_FAILURES}


def test_60_parallel_sign_ins_from_one_address_pass_only_the_login_rate(
    database_cache, slow_hashing
):
    # 30/min (LOGIN_RATE); 60 different unknown phones, so that no lock-out plays a part.
    bodies = [{"phone": f"02450{n:05d}", "password": "wrong"} for n in range(60)]

    statuses = in_parallel(bodies)

    assert statuses == {400: 30, 429: 30}


def test_an_accounts_email_and_phone_share_one_lock_out(api_client, settings):
    settings.LOGIN_MAX_FAILURES = 4
    StaffFactory(phone="+233241234567", email="ama@example.com")
    for body in [{"phone": "0241234567"}, {"email": "AMA@example.com"}] * 2:
        assert (
            api_client.post(LOGIN, {**body, "password": "wrong"}, format="json").status_code == 400
        )

    locked = api_client.post(
        LOGIN, {"email": "ama@example.com", "password": PASSWORD}, format="json"
    )

    assert locked.status_code == 429
    assert locked.json()["code"] == "throttled"


def test_the_lock_out_holds_for_the_account_from_any_address(settings):
    settings.LOGIN_MAX_FAILURES = 2
    StaffFactory(phone="+233241234567")
    for address in ("10.0.0.1", "10.0.0.2"):
        APIClient(REMOTE_ADDR=address).post(
            LOGIN, {"phone": "0241234567", "password": "wrong"}, format="json"
        )

    locked = APIClient(REMOTE_ADDR="10.0.0.3").post(
        LOGIN, {"phone": "0241234567", "password": PASSWORD}, format="json"
    )

    assert locked.status_code == 429


def test_an_unknown_phone_is_counted_once_however_it_is_written(api_client, settings):
    settings.LOGIN_MAX_FAILURES = 2
    for phone in ("0241234599", "+233 24 123 4599"):
        api_client.post(LOGIN, {"phone": phone, "password": "wrong"}, format="json")

    locked = api_client.post(LOGIN, {"phone": "233241234599", "password": "x"}, format="json")

    assert locked.status_code == 429


def test_the_admin_sign_in_stops_checking_after_the_login_rate_from_one_address():
    # 40 phones from one address: 30/min (LOGIN_RATE) are checked, the rest refused unchecked.
    answers = [
        Client().post(ADMIN_LOGIN, {"username": f"02450{n:05d}", "password": "wrong"})
        for n in range(40)
    ]

    refused = [a for a in answers if "Too many sign-in attempts" in a.content.decode()]
    assert len(refused) == 10
    assert all(a.status_code == 200 for a in answers)


def test_the_admin_sign_in_shares_the_apis_count_for_an_address(api_client):
    for n in range(30):
        api_client.post(LOGIN, {"phone": f"02450{n:05d}", "password": "wrong"}, format="json")

    answer = Client().post(ADMIN_LOGIN, {"username": "0245099999", "password": "wrong"})

    assert "Too many sign-in attempts" in answer.content.decode()


def test_parallel_wrong_passwords_on_the_admin_sign_in_check_only_login_max_failures(
    slow_hashing, settings
):
    StaffFactory(phone="+233241234567")
    start = threading.Barrier(12)
    locked: list[bool] = []

    def send():
        try:
            start.wait()
            answer = Client().post(ADMIN_LOGIN, {"username": "0241234567", "password": "wrong"})
            locked.append(admin_forms.LOCKED_OUT in answer.content.decode())
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert locked.count(False) == settings.LOGIN_MAX_FAILURES


def hits_in_parallel(count: int) -> list[int]:
    start = threading.Barrier(count)
    answers: list[int] = []

    def hit():
        try:
            start.wait()
            answers.append(throttling.counter_hit(key="the-key", window=60)[0])
        finally:
            connection.close()

    threads = [threading.Thread(target=hit) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(answers)


def test_parallel_hits_on_the_database_counter_each_get_their_own_count():
    assert hits_in_parallel(40) == list(range(1, 41))


@pytest.fixture
def redis_cache(settings):
    """Django's Redis cache on the test Redis, under a key prefix of this test alone (the
    counters expire by themselves; nothing else in that Redis is touched)."""
    import os
    import uuid

    import redis

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        missing_service("no Redis answers for the Redis counter tests")
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": uuid.uuid4().hex,
        }
    }


def test_parallel_hits_on_the_redis_counter_each_get_their_own_count(redis_cache):
    assert hits_in_parallel(40) == list(range(1, 41))


def test_a_redis_counter_starts_again_when_its_window_ends(redis_cache):
    throttling.counter_hit(key="short", window=0.2)
    assert throttling.counter_hit(key="short", window=0.2)[0] == 2
    time.sleep(0.3)

    assert throttling.counter_hit(key="short", window=0.2)[0] == 1


def test_a_database_counter_starts_again_when_its_window_ends():
    throttling.counter_hit(key="short", window=0.2)
    assert throttling.counter_hit(key="short", window=0.2)[0] == 2
    time.sleep(0.3)

    assert throttling.counter_hit(key="short", window=0.2)[0] == 1


def test_25_parallel_wrong_passwords_with_redis_check_only_login_max_failures(
    redis_cache, slow_hashing, settings
):
    StaffFactory(phone="+233241234567")

    statuses = in_parallel([{"phone": "0241234567", "password": "wrong"}] * 25)

    assert statuses[400] == settings.LOGIN_MAX_FAILURES


def test_parallel_password_changes_of_one_user_pass_only_their_rate(database_cache, slow_hashing):
    # PASSWORD_CHANGE_RATE, 10/hour: each try checks the current password, so a stolen access
    # token gets no more than that many guesses at it.
    from tests.conftest import bearer_client

    user = StaffFactory()
    start = threading.Barrier(20)
    statuses: list[int] = []

    def change():
        try:
            start.wait()
            body = {"old_password": "wrong", "new_password": "x", "confirm_password": "x"}
            answer = bearer_client(user).post(reverse("users:password-change"), body, format="json")
            statuses.append(answer.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=change) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert Counter(statuses) == {400: 10, 429: 10}
