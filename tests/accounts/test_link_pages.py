"""The pages a sign-in link opens, through HTTP as a phone's browser sends it."""

import re
import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from tests.factories import CustomerFactory, StaffFactory
from users.accounts.rate_limits import LoginRateThrottle
from users.credentials.links import sign_in_link_issue
from users.models import PasswordChange, SignInLink

pytestmark = pytest.mark.django_db

INVITE = SignInLink.Purpose.INVITE
CONFIRM = SignInLink.Purpose.CONFIRM
RESET = SignInLink.Purpose.RESET
NEW_PASSWORD = "Kente-cloth-harbour-42"
LOGIN = reverse("users:login")


@pytest.fixture(autouse=True)
def _spa(settings):
    settings.APP_URL = "https://app.primepre.test"


def path_of(url: str) -> str:
    return url.removeprefix("https://api.primepre.test")


def link_for(user, purpose=INVITE, via=SignInLink.Via.SMS) -> str:
    return path_of(sign_in_link_issue(user=user, purpose=purpose, via=via))


def send(client, path, password=NEW_PASSWORD, again=None, **extra):
    return client.post(
        path,
        {"new_password1": password, "new_password2": password if again is None else again},
        **extra,
    )


def code_of(response) -> str:
    return re.search(r'<main data-code="([^"]*)"', response.content.decode()).group(1)


def signs_in(phone: str, password: str) -> bool:
    response = Client().post(
        LOGIN, {"phone": phone, "password": password}, content_type="application/json"
    )
    return response.status_code == 200


# Opening a link


@pytest.mark.parametrize(
    ("purpose", "heading", "inputs"),
    [
        (INVITE, "Set your password", 2),
        (CONFIRM, "Confirm your number", 0),
        (RESET, "Choose a new password", 2),
    ],
)
def test_a_link_opens_the_page_of_its_purpose(client, purpose, heading, inputs):
    customer = CustomerFactory(first_name="Ama")

    response = client.get(link_for(customer, purpose))

    assert response.status_code == 200
    html = response.content.decode()
    assert f"<h1>{heading}</h1>" in html
    assert "primepre" in html
    assert "Hello Ama." in html
    assert html.count('type="password"') == inputs
    assert '<a href="https://app.primepre.test/login">' in html
    assert "<script" not in html
    assert "no-store" in response["Cache-Control"]


def test_every_input_of_a_page_has_its_label(client):
    response = client.get(link_for(CustomerFactory()))

    html = response.content.decode()
    for input_id in re.findall(r'<input type="password" name="\w+" id="(\w+)"', html):
        assert f'<label for="{input_id}">' in html


def test_opening_a_link_changes_nothing(client):
    customer = CustomerFactory(is_verified=False)
    path = link_for(customer, CONFIRM)

    client.get(path)
    client.get(path)
    client.head(path)

    customer.refresh_from_db()
    assert not customer.is_verified
    assert SignInLink.objects.get().used_at is None
    assert client.get(path).status_code == 200


# Setting a password


def test_an_invite_sets_the_password_and_verifies_the_phone(client):
    customer = CustomerFactory(phone="+233241110001", is_verified=False)
    path = link_for(customer, INVITE)

    response = send(client, path)

    assert response.status_code == 200
    assert "<h1>Your password is set.</h1>" in response.content.decode()
    customer.refresh_from_db()
    assert customer.is_verified
    assert customer.password_expires_at is None
    change = PasswordChange.objects.get(user=customer)
    assert (change.kind, change.set_by, change.temporary) == ("LINK", customer, False)
    assert signs_in("0241110001", NEW_PASSWORD)


def test_a_reset_link_sets_a_new_password_and_ends_every_session(client):
    customer = CustomerFactory(phone="+233241110002", password="old-Passphrase-9")
    refresh = RefreshToken.for_user(customer)
    path = link_for(customer, RESET)

    send(client, path)

    assert signs_in("+233241110002", NEW_PASSWORD)
    assert not signs_in("+233241110002", "old-Passphrase-9")
    outstanding = OutstandingToken.objects.get(jti=refresh["jti"])
    assert hasattr(outstanding, "blacklistedtoken")


def test_a_confirm_link_verifies_the_number_and_the_holder_signs_in(client):
    customer = CustomerFactory(phone="+233241110003", is_verified=False, password="Own-pass-77x")
    path = link_for(customer, CONFIRM)

    response = client.post(path)

    assert response.status_code == 200
    assert "<h1>Your number is confirmed.</h1>" in response.content.decode()
    customer.refresh_from_db()
    assert customer.is_verified
    assert signs_in("0241110003", "Own-pass-77x")


def test_a_link_made_by_hand_by_an_admin_works_as_a_texted_one(client):
    customer = CustomerFactory(phone="+233241110004", is_verified=False)

    send(client, link_for(customer, INVITE, via=SignInLink.Via.HAND))

    customer.refresh_from_db()
    assert customer.is_verified
    assert signs_in("0241110004", NEW_PASSWORD)


def test_a_staff_accounts_reset_link_sets_its_password(client):
    admin = StaffFactory(phone="+233201110005")

    send(client, link_for(admin, RESET))

    assert signs_in("+233201110005", NEW_PASSWORD)


# Passwords the page refuses


@pytest.mark.parametrize(
    ("password", "again", "field", "code"),
    [
        ("short1", None, "new_password2", "password_too_short"),
        ("password123", None, "new_password2", "password_too_common"),
        ("83749201746", None, "new_password2", "password_entirely_numeric"),
        ("PrimeMade", None, "new_password2", "shared_password"),
        ("PrimeMade1", None, "new_password2", "shared_password"),
        (NEW_PASSWORD, "Another-one-42", "new_password2", "password_mismatch"),
    ],
)
def test_a_weak_or_mistyped_password_is_refused_beside_its_field(
    client, password, again, field, code
):
    customer = CustomerFactory(is_verified=False)
    path = link_for(customer, INVITE)

    response = send(client, path, password, again)

    assert response.status_code == 400
    html = response.content.decode()
    assert f'id="id_{field}-errors"' in html
    errors = html.split(f'id="id_{field}-errors"')[1].split("</ul>")[0]
    assert f'data-code="{code}"' in errors
    customer.refresh_from_db()
    assert not customer.has_usable_password()
    assert not customer.is_verified
    # The link still works for a better password.
    assert send(client, path).status_code == 200


def test_a_password_like_the_customers_name_is_refused(client):
    customer = CustomerFactory(first_name="Kwabena", last_name="Asantewaa")

    response = send(client, link_for(customer), "Asantewaa")

    assert 'data-code="password_too_similar"' in response.content.decode()


# Links that open nothing


def test_the_second_use_of_a_password_link_gets_a_clear_page(client):
    customer = CustomerFactory()
    path = link_for(customer, INVITE)
    send(client, path)

    again = send(client, path, "Second-try-passphrase-8")
    opened = client.get(path)

    for response in (again, opened):
        assert response.status_code == 404
        assert code_of(response) == "link_invalid"
        assert "<h1>This link no longer works</h1>" in response.content.decode()
        assert "Forgot password" in response.content.decode()
    assert signs_in(customer.phone, NEW_PASSWORD)


def test_the_second_use_of_a_confirm_link_says_it_was_used(client):
    customer = CustomerFactory(is_verified=False)
    path = link_for(customer, CONFIRM)
    client.post(path)

    response = client.post(path)

    assert response.status_code == 410
    assert code_of(response) == "link_used"
    assert "<h1>This link has already been used</h1>" in response.content.decode()


@pytest.mark.parametrize(("purpose", "age"), [(INVITE, {"days": 8}), (RESET, {"minutes": 31})])
def test_an_expired_link_gets_a_clear_page_and_changes_nothing(client, purpose, age):
    customer = CustomerFactory(is_verified=False)
    path = link_for(customer, purpose)

    with time_machine.travel(timezone.now() + timedelta(**age), tick=False):
        opened = client.get(path)
        sent = send(client, path)

    for response in (opened, sent):
        assert response.status_code == 410
        assert code_of(response) == "link_expired"
        assert "<h1>This link has expired</h1>" in response.content.decode()
    customer.refresh_from_db()
    assert not customer.has_usable_password()
    assert not customer.is_verified


def test_a_newer_link_voids_the_older_page(client):
    customer = CustomerFactory()
    older = link_for(customer, INVITE)
    newer = link_for(customer, RESET)

    assert code_of(send(client, older)) == "link_invalid"
    assert send(client, newer).status_code == 200


def test_a_password_changed_meanwhile_voids_the_link(client):
    customer = CustomerFactory()
    path = link_for(customer, RESET)
    customer.set_password("Changed-elsewhere-5")
    customer.save()

    response = send(client, path)

    assert code_of(response) == "link_invalid"
    assert signs_in(customer.phone, "Changed-elsewhere-5")


def test_a_blocked_accounts_link_opens_nothing(client):
    customer = CustomerFactory(is_verified=False)
    path = link_for(customer, INVITE)
    customer.is_active = False
    customer.save()

    response = send(client, path)

    assert code_of(response) == "link_invalid"
    customer.refresh_from_db()
    assert not customer.has_usable_password()


def test_a_link_with_another_accounts_id_says_nothing_about_either(client):
    first, second = CustomerFactory(first_name="Efua"), CustomerFactory(first_name="Yaw")
    first_path = link_for(first)
    second_path = link_for(second)
    token = first_path.rstrip("/").split("/")[-1]
    uid = second_path.rstrip("/").split("/")[-2]

    response = send(client, f"/i/{uid}/{token}/")
    unknown = client.get(f"/i/zzzzz/{token}/")

    assert code_of(response) == code_of(unknown) == "link_invalid"
    assert response.content == unknown.content
    assert "Efua" not in response.content.decode()
    assert "Yaw" not in response.content.decode()


# CSRF and rate limits


def rates(monkeypatch, **scopes):
    monkeypatch.setattr(
        LoginRateThrottle, "THROTTLE_RATES", {**LoginRateThrottle.THROTTLE_RATES, **scopes}
    )


def test_a_form_without_its_csrf_token_is_refused_with_a_clear_page():
    customer = CustomerFactory(is_verified=False)
    path = link_for(customer, CONFIRM)
    browser = Client(enforce_csrf_checks=True)

    refused = browser.post(path)

    assert refused.status_code == 403
    assert code_of(refused) == "csrf_failed"
    customer.refresh_from_db()
    assert not customer.is_verified
    page = browser.get(path).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    assert browser.post(path, {"csrfmiddlewaretoken": token}).status_code == 200
    customer.refresh_from_db()
    assert customer.is_verified


def test_pages_are_rate_limited_per_address(client, monkeypatch):
    rates(monkeypatch, sign_in_link="3/hour")
    customer = CustomerFactory()
    path = link_for(customer)

    answers = [client.get(f"/i/{n}/made-up/").status_code for n in range(3)]
    refused = client.get(path)

    assert answers == [404, 404, 404]
    assert refused.status_code == 429
    assert code_of(refused) == "throttled"
    assert int(refused["Retry-After"]) > 0
    other_address = client.get(path, REMOTE_ADDR="192.0.2.7")
    assert other_address.status_code == 200


def test_forms_are_rate_limited_per_account_from_any_address(client, monkeypatch):
    rates(monkeypatch, sign_in_link_account="2/hour")
    customer = CustomerFactory()
    path = link_for(customer)

    first = send(client, path, "short", "short")
    second = send(client, path, "x", REMOTE_ADDR="192.0.2.8")
    third = send(client, path, REMOTE_ADDR="192.0.2.9")

    assert [first.status_code, second.status_code] == [400, 400]
    assert third.status_code == 429
    assert code_of(third) == "throttled"
    customer.refresh_from_db()
    assert not customer.has_usable_password()


def test_made_up_links_do_not_use_up_an_accounts_tries(client, monkeypatch):
    rates(monkeypatch, sign_in_link_account="2/hour")
    customer = CustomerFactory()
    path = link_for(customer)
    uid = path.rstrip("/").split("/")[-2]

    for n in range(5):
        send(client, f"/i/{uid}/made-up-{n}/", REMOTE_ADDR=f"192.0.2.{n}")

    assert send(client, path).status_code == 200


def test_a_sign_in_voids_the_accounts_links(client):
    customer = CustomerFactory(phone="+233241110009", password="Known-pass-99")
    path = link_for(customer, RESET)

    assert signs_in("0241110009", "Known-pass-99")

    assert code_of(send(client, path)) == "link_invalid"


@pytest.mark.django_db(transaction=True)
def test_two_forms_sent_with_one_link_at_once_set_one_password(slow_hashing):
    """The link is checked again under the account's row lock and used by one conditional
    UPDATE: of two parallel forms, one sets its password and the other is refused."""
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers; the race needs Postgres")
    customer = CustomerFactory(phone="+233241110010")
    path = link_for(customer, INVITE)
    barrier = threading.Barrier(2)
    answers = {}

    def choose(password):
        barrier.wait()
        try:
            answers[password] = send(Client(), path, password).status_code
        finally:
            connection.close()

    passwords = ["First-parallel-pass-1", "Second-parallel-pass-2"]
    threads = [threading.Thread(target=choose, args=(p,)) for p in passwords]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(answers.values()) == [200, 404]
    [winner] = [password for password, status in answers.items() if status == 200]
    assert signs_in("0241110010", winner)
    assert PasswordChange.objects.filter(user=customer).count() == 1
