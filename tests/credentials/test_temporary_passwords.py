"""Passwords someone other than the holder sets (users.credentials): they sign in for
TEMPORARY_PASSWORD_HOURS, setting one ends the account's sessions, the holder's own change
ends it, and every set is recorded. From the SPA, any API client and the Django admin."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories import CustomerFactory, StaffFactory
from tests.spa import NEW_CLIENT, PASSWORD_CHANGE, PROFILE, REFRESH, USERS, Spa, user_url
from users.models import PasswordChange, Role, User

pytestmark = pytest.mark.django_db

PASSWORD = "staff-password-1"


@pytest.fixture
def admin():
    return StaffFactory(phone="+233200000001")


@pytest.fixture
def spa(admin) -> Spa:
    spa = Spa()
    spa.login("0200000001", PASSWORD)
    return spa


def later(hours: float):
    return time_machine.travel(timezone.now() + timedelta(hours=hours), tick=False)


def test_an_admin_created_password_signs_in_until_the_hours_pass_then_not(spa):
    spa.post(USERS, NEW_CLIENT)

    with later(71):
        assert Spa().login("0241234567", "PrimeMade1").success
    with later(73):
        refused = Spa().login("0241234567", "PrimeMade1")

    assert (refused.success, refused.status) == (False, 403)
    assert refused.message.startswith("This temporary password has expired.")


def test_the_hours_are_a_setting(spa, settings):
    settings.TEMPORARY_PASSWORD_HOURS = 2
    spa.post(USERS, NEW_CLIENT)

    with later(1):
        assert Spa().login("0241234567", "PrimeMade1").success
    with later(3):
        assert Spa().login("0241234567", "PrimeMade1").status == 403


def test_a_reset_password_is_temporary_too(spa):
    customer = CustomerFactory(phone="+233241234567")

    spa.post(user_url(customer.id, "reset_password"), {"new_password": "PrimeMade1"})

    with later(71):
        assert Spa().login("0241234567", "PrimeMade1").success
    with later(73):
        assert Spa().login("0241234567", "PrimeMade1").status == 403


def own_change(new: str):
    """The new customer signs in with the temporary password and changes it to `new`."""
    theirs = Spa()
    theirs.login("0241234567", "PrimeMade1")
    return theirs.post(
        PASSWORD_CHANGE,
        {"old_password": "PrimeMade1", "new_password": new, "confirm_password": new},
    )


def test_the_holders_own_change_ends_it(spa):
    spa.post(USERS, NEW_CLIENT)

    changed = own_change("Kwame-Own-Pass-7")

    assert changed.success
    assert User.objects.get(phone="+233241234567").password_expires_at is None
    with later(24 * 30):
        assert Spa().login("0241234567", "Kwame-Own-Pass-7").success


def test_the_holder_may_not_keep_the_shared_default(spa):
    spa.post(USERS, NEW_CLIENT)

    result = own_change("PrimeMade1")

    assert result.success is False
    assert User.objects.get(phone="+233241234567").password_expires_at is not None


def test_the_sign_in_answer_says_the_password_is_temporary(spa):
    spa.post(USERS, NEW_CLIENT)

    user = Spa().login("0241234567", "PrimeMade1").data["user"]

    assert user["password_temporary"] is True
    assert user["password_expires_at"]


def test_every_set_is_recorded_with_who_whom_and_when(spa, admin):
    created = spa.post(USERS, NEW_CLIENT).data
    spa.post(user_url(created["id"], "reset_password"), {"new_password": "Another-Temp-4"})

    records = list(PasswordChange.objects.filter(user_id=created["id"]).order_by("id"))

    assert [(r.kind, r.set_by_id, r.temporary) for r in records] == [
        (PasswordChange.Kind.CREATED, admin.id, True),
        (PasswordChange.Kind.RESET, admin.id, True),
    ]
    assert all(r.created_at and r.expires_at > r.created_at for r in records)


def test_a_customer_created_without_a_password_has_none_and_is_not_verified(spa):
    body = {key: value for key, value in NEW_CLIENT.items() if "password" not in key}

    created = spa.post(USERS, body).data

    user = User.objects.get(pk=created["id"])
    assert user.has_usable_password() is False
    assert user.is_verified is False
    assert not PasswordChange.objects.filter(user=user).exists()


def test_the_pin_reset_ends_a_temporary_password(spa, twilio, api_client):
    spa.post(USERS, NEW_CLIENT)
    api_client.post(reverse("users:password-reset"), {"phone": "0241234567"}, format="json")
    pin = re.search(r"\b(\d{6})\b", twilio.sent[0]["body"]).group(1)

    response = api_client.post(
        reverse("users:password-reset-confirm"),
        {"phone": "0241234567", "pin": pin, "new_password": "Kwame-Own-Pass-7"},
        format="json",
    )

    assert response.status_code == 200
    user = User.objects.get(phone="+233241234567")
    assert user.password_expires_at is None
    assert PasswordChange.objects.filter(user=user).first().kind == PasswordChange.Kind.PIN_RESET


# --- the Django admin -----------------------------------------------------------------------


@pytest.fixture
def super_admin_web():
    super_admin = StaffFactory(user_role=Role.SUPER_ADMIN, is_superuser=True)
    client = Client()
    client.force_login(super_admin)
    return super_admin, client


def test_the_admins_set_password_page_makes_it_temporary_and_records_who(super_admin_web):
    super_admin, web = super_admin_web
    staff = StaffFactory(phone="+233241234567")
    theirs = Spa()
    theirs.login("0241234567", PASSWORD)

    response = web.post(
        reverse("admin:auth_user_password_change", args=[staff.pk]),
        {
            "password1": "Admin-Chosen-9",
            "password2": "Admin-Chosen-9",
            "set_usable_password": "true",
        },
    )

    assert response.status_code == 302
    staff.refresh_from_db()
    assert staff.check_password("Admin-Chosen-9")
    assert staff.password_expires_at is not None
    record = PasswordChange.objects.get(user=staff)
    assert (record.set_by, record.kind) == (super_admin, PasswordChange.Kind.RESET)
    assert theirs.timer_refresh().success is False


def test_an_account_added_in_the_admin_gets_a_temporary_password(super_admin_web):
    super_admin, web = super_admin_web

    response = web.post(
        reverse("admin:users_user_add"),
        {
            "phone": "0241234567",
            "first_name": "Yaw",
            "last_name": "Boateng",
            "user_role": "ADMIN",
            "is_verified": "on",
            "password1": "Admin-Chosen-9",
            "password2": "Admin-Chosen-9",
            "usable_password": "true",
        },
    )

    assert response.status_code == 302
    user = User.objects.get(phone="+233241234567")
    assert user.password_expires_at is not None
    assert PasswordChange.objects.get(user=user).set_by == super_admin


def test_the_admin_sign_in_refuses_an_expired_temporary_password():
    staff = StaffFactory(phone="+233241234567")
    super_admin = StaffFactory(user_role=Role.SUPER_ADMIN)
    boss = Spa()
    boss.login(super_admin.phone, PASSWORD)
    boss.post(user_url(staff.id, "reset_password"), {"new_password": "Admin-Chosen-9"})
    login = {"username": "0241234567", "password": "Admin-Chosen-9"}

    with later(1):
        early = Client()
        early.post(reverse("admin:login"), login)
    with later(100):
        late = Client()
        late.post(reverse("admin:login"), login)

    assert SESSION_KEY in early.session
    assert SESSION_KEY not in late.session


def test_nobody_changes_their_own_role_or_active_flag_in_the_admin(super_admin_web):
    super_admin, web = super_admin_web

    response = web.get(reverse("admin:users_user_change", args=[super_admin.pk]))

    form = response.context["adminform"].form
    assert "user_role" not in form.fields
    assert "is_active" not in form.fields


def test_a_session_opened_with_a_temporary_password_ends_when_it_expires(spa, api_client):
    # Given a customer signed in with the temporary password an admin gave them
    spa.post(USERS, NEW_CLIENT)
    theirs = Spa()
    assert theirs.login("0241234567", "PrimeMade1").success
    refresh = theirs.storage["refresh_token"]

    # When the hours pass, the refresh token from before is refused, with the reason
    with later(71):
        assert api_client.post(REFRESH, {"refresh": refresh}, format="json").status_code == 200
    with later(73):
        answer = api_client.post(REFRESH, {"refresh": refresh}, format="json")
        # and the SPA, whose access token is refused too, signs out
        me = theirs.get(PROFILE)

    assert answer.status_code == 401
    assert answer.json()["code"] == "password_expired"
    assert (me.success, me.status, theirs.signed_out) == (False, 401, True)


def test_a_session_after_the_holders_own_change_outlives_the_hours(spa, api_client):
    spa.post(USERS, NEW_CLIENT)
    own_change("Kwame-Own-Pass-7")
    theirs = Spa()
    assert theirs.login("0241234567", "Kwame-Own-Pass-7").success

    with later(73):
        answer = api_client.post(
            REFRESH, {"refresh": theirs.storage["refresh_token"]}, format="json"
        )

    assert answer.status_code == 200


def test_an_access_token_stops_working_when_the_temporary_password_expires(spa):
    spa.post(USERS, NEW_CLIENT)
    theirs = Spa()
    theirs.login("0241234567", "PrimeMade1")
    assert theirs.get(PROFILE).success
    # The hours run out within the access token's 15 minutes.
    User.objects.filter(phone="+233241234567").update(
        password_expires_at=timezone.now() - timedelta(seconds=1)
    )

    answer = theirs.client.get(
        PROFILE, HTTP_AUTHORIZATION=f"Bearer {theirs.storage['access_token']}"
    )

    assert answer.status_code == 401
    assert answer.json()["code"] == "password_expired"
