"""Every way a password changes ends the account's sessions: the refresh token the holder had
before no longer refreshes, whichever path set it (users.credentials.password_store, or the
safety net under it for a path that does not go through it)."""

import re

import pytest
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from rest_framework import status
from rest_framework.test import APIClient

from tests.conftest import bearer_client
from tests.factories import CustomerFactory, StaffFactory
from users.models import Role

pytestmark = pytest.mark.django_db

LOGIN = reverse("users:login")
REFRESH = reverse("users:token-refresh")
PASSWORD = "staff-password-1"
NEW = "A-new-Passphrase-71"


def refresh_token_of(phone: str, password: str = PASSWORD) -> str:
    answer = APIClient().post(LOGIN, {"phone": phone, "password": password}, format="json")
    assert answer.status_code == status.HTTP_200_OK
    return answer.json()["tokens"]["refresh"]


def refreshes(token: str) -> int:
    return APIClient().post(REFRESH, {"refresh": token}, format="json").status_code


@pytest.fixture
def admin():
    return StaffFactory(phone="+233241234567")


@pytest.fixture
def super_admin_web():
    super_admin = StaffFactory(user_role=Role.SUPER_ADMIN, is_superuser=True)
    web = Client()
    web.force_login(super_admin)
    return super_admin, web


def test_the_token_refreshes_while_the_password_stays(admin):
    assert refreshes(refresh_token_of("0241234567")) == status.HTTP_200_OK


def test_the_holders_own_change_through_the_api(admin):
    token = refresh_token_of("0241234567")
    body = {"old_password": PASSWORD, "new_password": NEW, "confirm_password": NEW}

    bearer_client(admin).post(reverse("users:password-change"), body, format="json")

    assert refreshes(token) == status.HTTP_401_UNAUTHORIZED


def test_an_admin_setting_a_customers_password_through_the_api(admin):
    customer = CustomerFactory(phone="+233201112222", password=PASSWORD)
    token = refresh_token_of("0201112222")
    url = f"/api/auth/admin/users/{customer.pk}/reset_password/"

    answer = bearer_client(admin).post(url, {"new_password": NEW}, format="json")

    assert answer.status_code == status.HTTP_200_OK
    assert refreshes(token) == status.HTTP_401_UNAUTHORIZED


def test_a_super_admin_changing_an_admins_password_in_the_django_admin(admin, super_admin_web):
    _, web = super_admin_web
    token = refresh_token_of("0241234567")

    answer = web.post(
        reverse("admin:auth_user_password_change", args=[admin.pk]),
        {"password1": NEW, "password2": NEW, "set_usable_password": "true"},
    )

    assert answer.status_code == 302
    assert refreshes(token) == status.HTTP_401_UNAUTHORIZED


def test_the_django_admin_removing_a_password(admin, super_admin_web):
    _, web = super_admin_web
    token = refresh_token_of("0241234567")

    web.post(
        reverse("admin:auth_user_password_change", args=[admin.pk]),
        {"usable_password": "false", "unset-password": "1"},
    )

    admin.refresh_from_db()
    assert not admin.has_usable_password()
    assert refreshes(token) == status.HTTP_401_UNAUTHORIZED


def test_the_pin_reset(admin, twilio):
    token = refresh_token_of("0241234567")
    APIClient().post(reverse("users:password-reset"), {"phone": "0241234567"}, format="json")
    pin = re.search(r"\b(\d{6})\b", twilio.sent[-1]["body"]).group(1)

    answer = APIClient().post(
        reverse("users:password-reset-confirm"),
        {"phone": "0241234567", "pin": pin, "new_password": NEW},
        format="json",
    )

    assert answer.status_code == status.HTTP_200_OK
    assert refreshes(token) == status.HTTP_401_UNAUTHORIZED


def test_djangos_changepassword_command(admin, monkeypatch):
    token = refresh_token_of("0241234567")
    monkeypatch.setattr("getpass.getpass", lambda prompt="": NEW)

    call_command("changepassword", admin.phone, stdout=None)

    admin.refresh_from_db()
    assert admin.check_password(NEW)
    assert refreshes(token) == status.HTTP_401_UNAUTHORIZED


def test_any_save_of_a_new_hash_by_code_that_forgets_password_store(admin):
    token = refresh_token_of("0241234567")

    admin.password = make_password(NEW)
    admin.save()

    assert refreshes(token) == status.HTTP_401_UNAUTHORIZED


def test_saving_other_fields_leaves_the_sessions_alone(admin):
    token = refresh_token_of("0241234567")

    admin.first_name = "Kofi"
    admin.save()
    admin.nickname = "KB"
    admin.save(update_fields=["nickname"])

    assert refreshes(token) == status.HTTP_200_OK
