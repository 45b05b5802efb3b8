"""Sessions as the SPA keeps them (SPA-CONTRACT.md 2.3, 2.4, 2.7): it stores the refresh token
of its sign-in for the whole session, refreshes every 10 minutes with the current (often
expired) Bearer attached, and answers any 401 with a refresh."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from tests.factories import CustomerFactory, StaffFactory
from tests.spa import PROFILE, REFRESH, Spa, user_url
from users.models import User

pytestmark = pytest.mark.django_db

PASSWORD = "staff-password-1"


@pytest.fixture
def admin():
    return StaffFactory(phone="+233200000001")


def test_a_session_refreshed_ten_times_with_the_sign_in_refresh_token_stays_signed_in(admin):
    spa = Spa()
    with time_machine.travel(timezone.now(), tick=False) as clock:
        spa.login("0200000001", PASSWORD)
        sign_in_refresh = spa.storage["refresh_token"]
        for _ in range(10):
            # Past the access token's 15 minutes: the Bearer the timer sends is stale.
            clock.shift(timedelta(minutes=16))
            result = spa.timer_refresh()
            assert result.success, result.message
            assert "refresh" not in result.data
            assert spa.storage["refresh_token"] == sign_in_refresh
            assert spa.get(PROFILE).success

    refreshes = [headers for method, path, headers in spa.sent if path == REFRESH]
    assert len(refreshes) == 10
    assert all(headers["Authorization"].startswith("Bearer ") for headers in refreshes)
    assert spa.signed_out is False


def test_refresh_ignores_a_garbage_bearer_header(admin):
    spa = Spa()
    spa.login("0200000001", PASSWORD)
    spa.storage["access_token"] = "not.a.token"

    result = spa.timer_refresh()

    assert result.success


def test_an_expired_access_token_is_refreshed_and_the_request_retried_once(admin):
    spa = Spa()
    with time_machine.travel(timezone.now(), tick=False) as clock:
        spa.login("0200000001", PASSWORD)
        clock.shift(timedelta(minutes=20))

        result = spa.get(PROFILE)

    assert result.success
    assert [path for _method, path, _headers in spa.sent] == [
        "/api/auth/login/",
        PROFILE,
        REFRESH,
        PROFILE,
    ]
    # The raw refresh fetch carries no Authorization header.
    assert spa.sent[2][2] == {"Content-Type": "application/json"}


def test_a_session_ends_when_its_refresh_token_expires(admin):
    spa = Spa()
    with time_machine.travel(timezone.now(), tick=False) as clock:
        spa.login("0200000001", PASSWORD)
        clock.shift(timedelta(days=7, minutes=1))

        result = spa.get(PROFILE)

    assert result.success is False
    assert spa.signed_out is True


def test_logout_blacklists_the_refresh_token(admin):
    spa = Spa()
    spa.login("0200000001", PASSWORD)
    refresh = spa.storage["refresh_token"]

    assert spa.logout().success
    stolen = Spa()
    stolen.storage["refresh_token"] = refresh
    result = stolen.timer_refresh()

    assert (result.success, result.status) == (False, 401)


def test_logout_of_a_revoked_session_is_not_a_401(admin):
    spa = Spa()
    spa.login("0200000001", PASSWORD)
    refresh = spa.storage["refresh_token"]
    spa.logout()
    spa.storage["refresh_token"] = refresh

    result = spa.logout()

    # The SPA ignores it; a 401 would only send it to refresh with the same dead token.
    assert (result.success, result.status) == (False, 400)


def test_an_admin_reset_ends_the_holders_sessions(admin):
    customer = CustomerFactory(phone="+233241234567", password="customer-pass-1")
    theirs = Spa()
    theirs.login("0241234567", "customer-pass-1")
    spa = Spa()
    spa.login("0200000001", PASSWORD)

    spa.post(user_url(customer.id, "reset_password"), {"new_password": "PrimeMade1"})

    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        result = theirs.get(PROFILE)
    assert result.success is False
    assert theirs.signed_out is True


def test_a_blocked_users_refresh_is_refused(admin):
    customer = CustomerFactory(phone="+233241234567", password="customer-pass-1")
    theirs = Spa()
    theirs.login("0241234567", "customer-pass-1")
    refresh = theirs.storage["refresh_token"]
    customer.is_active = False
    customer.save()

    response = Spa().client.post(REFRESH, {"refresh": refresh}, content_type="application/json")

    assert response.status_code == 401


def test_an_unverified_users_refresh_is_refused(admin):
    customer = CustomerFactory(phone="+233241234567", password="customer-pass-1")
    theirs = Spa()
    theirs.login("0241234567", "customer-pass-1")
    User.objects.filter(pk=customer.pk).update(is_verified=False)

    response = Spa().client.post(
        REFRESH, {"refresh": theirs.storage["refresh_token"]}, content_type="application/json"
    )

    assert response.status_code == 401
