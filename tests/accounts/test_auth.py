from datetime import timedelta

import pytest
from django.urls import reverse
from rest_framework import status
from rest_framework_simplejwt import serializers as jwt_serializers
from rest_framework_simplejwt import settings as jwt_settings
from rest_framework_simplejwt.tokens import AccessToken

from tests.conftest import bearer_client
from tests.factories import CustomerFactory, StaffFactory
from users.models import User

pytestmark = pytest.mark.django_db

LOGIN = reverse("users:login")
REFRESH = reverse("users:token-refresh")
LOGOUT = reverse("users:logout")
ME = reverse("users:me")
PASSWORD = "staff-password-1"


@pytest.fixture
def admin_user():
    return StaffFactory(phone="+233241234567", email="ama@example.com")


def login(client, **body):
    return client.post(LOGIN, body, format="json")


@pytest.mark.parametrize(
    "phone", ["0241234567", "241234567", "+233 24 123 4567", "233241234567", "+233241234567"]
)
def test_login_accepts_each_phone_format(api_client, admin_user, phone):
    response = login(api_client, phone=phone, password=PASSWORD)

    assert response.status_code == status.HTTP_200_OK
    body = response.json()
    assert body["success"] is True
    assert body["user"]["id"] == admin_user.id
    assert body["user"]["phone"] == "+233241234567"
    assert set(body["tokens"]) == {"access", "refresh"}


def test_login_by_email_ignores_case(api_client, admin_user):
    response = login(api_client, email="AMA@Example.com", password=PASSWORD)

    assert response.status_code == status.HTTP_200_OK
    assert response.json()["user"]["id"] == admin_user.id


def test_login_with_a_wrong_password_is_400_so_the_spa_keeps_its_message(api_client, admin_user):
    response = login(api_client, phone="0241234567", password="wrong-password")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {
        "success": False,
        "code": "invalid_credentials",
        "message": "Phone number, email or password is incorrect.",
        "detail": "Phone number, email or password is incorrect.",
    }


def test_login_of_an_unknown_user_looks_like_a_wrong_password(api_client, admin_user):
    response = login(api_client, phone="0551234567", password=PASSWORD)

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json()["code"] == "invalid_credentials"


def test_login_of_an_inactive_user_is_403(api_client):
    StaffFactory(phone="+233241234567", is_active=False)

    response = login(api_client, phone="0241234567", password=PASSWORD)

    assert response.status_code == status.HTTP_403_FORBIDDEN
    assert response.json()["code"] == "account_inactive"


def test_login_of_an_unverified_user_is_403_verification_required(api_client):
    StaffFactory(phone="+233241234567", is_verified=False)

    response = login(api_client, phone="0241234567", password=PASSWORD)

    assert response.status_code == status.HTTP_403_FORBIDDEN
    assert response.json()["code"] == "verification_required"


def test_login_of_an_imported_customer_without_a_password_is_refused(api_client):
    CustomerFactory(phone="+233241234567")

    response = login(api_client, phone="0241234567", password="")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    response = login(api_client, phone="0241234567", password="anything")
    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json()["code"] == "invalid_credentials"


def test_login_without_an_identifier_names_the_missing_field(api_client):
    response = login(api_client, password=PASSWORD)

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    body = response.json()
    assert body["code"] == "validation_error"
    assert "phone" in body["errors"]


def test_repeated_wrong_passwords_lock_out_that_identifier_with_429(
    api_client, admin_user, settings
):
    settings.LOGIN_MAX_FAILURES = 3
    for _ in range(3):
        assert login(api_client, phone="0241234567", password="nope").status_code == 400

    locked = login(api_client, phone="+233 24 123 4567", password=PASSWORD)

    assert locked.status_code == status.HTTP_429_TOO_MANY_REQUESTS
    assert locked.json()["code"] == "throttled"
    assert int(locked["Retry-After"]) > 0


def test_a_lock_out_does_not_touch_other_identifiers(api_client, admin_user, settings):
    settings.LOGIN_MAX_FAILURES = 2
    other = StaffFactory(phone="+233201112222")
    for _ in range(2):
        login(api_client, phone="0241234567", password="nope")

    response = login(api_client, phone=other.phone, password=PASSWORD)

    assert response.status_code == status.HTTP_200_OK


def test_a_successful_login_clears_the_failure_count(api_client, admin_user, settings):
    settings.LOGIN_MAX_FAILURES = 3
    login(api_client, phone="0241234567", password="nope")
    login(api_client, phone="0241234567", password="nope")
    assert login(api_client, phone="0241234567", password=PASSWORD).status_code == 200

    for _ in range(2):
        login(api_client, phone="0241234567", password="nope")

    assert login(api_client, phone="0241234567", password=PASSWORD).status_code == 200


def test_access_tokens_live_fifteen_minutes(api_client, admin_user):
    tokens = login(api_client, phone="0241234567", password=PASSWORD).json()["tokens"]

    access = AccessToken(tokens["access"])

    assert access["exp"] - access["iat"] == timedelta(minutes=15).total_seconds()


@pytest.fixture
def rotation_on(settings, monkeypatch):
    """JWT_ROTATE_REFRESH_TOKENS=1. simplejwt reads its settings once, when its serializers
    module is imported, so the running one is replaced here."""
    settings.SIMPLE_JWT = {
        **settings.SIMPLE_JWT,
        "ROTATE_REFRESH_TOKENS": True,
        "BLACKLIST_AFTER_ROTATION": True,
    }
    monkeypatch.setattr(
        jwt_serializers,
        "api_settings",
        jwt_settings.APISettings(
            settings.SIMPLE_JWT, jwt_settings.DEFAULTS, jwt_settings.IMPORT_STRINGS
        ),
    )


def test_refresh_rotation_is_off_by_default(settings):
    assert settings.SIMPLE_JWT["ROTATE_REFRESH_TOKENS"] is False
    assert settings.SIMPLE_JWT["BLACKLIST_AFTER_ROTATION"] is False


def test_with_rotation_on_refresh_rotates_and_the_old_refresh_token_stops_working(
    api_client, admin_user, rotation_on
):
    tokens = login(api_client, phone="0241234567", password=PASSWORD).json()["tokens"]

    rotated = api_client.post(REFRESH, {"refresh": tokens["refresh"]}, format="json")
    reused = api_client.post(REFRESH, {"refresh": tokens["refresh"]}, format="json")

    assert rotated.status_code == status.HTTP_200_OK
    assert rotated.json()["refresh"] != tokens["refresh"]
    assert rotated.json()["access"]
    assert reused.status_code == status.HTTP_401_UNAUTHORIZED
    assert reused.json()["code"] == "token_not_valid"


def test_logout_blacklists_the_refresh_token(api_client, admin_user):
    tokens = login(api_client, phone="0241234567", password=PASSWORD).json()["tokens"]

    logout = api_client.post(LOGOUT, {"refresh": tokens["refresh"]}, format="json")
    refresh = api_client.post(REFRESH, {"refresh": tokens["refresh"]}, format="json")

    assert logout.status_code == status.HTTP_200_OK
    assert logout.json()["success"] is True
    assert refresh.status_code == status.HTTP_401_UNAUTHORIZED


def test_logout_with_a_garbage_token_is_400_not_401(api_client):
    response = api_client.post(LOGOUT, {"refresh": "not-a-token"}, format="json")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json()["code"] == "token_not_valid"


def test_me_returns_the_caller(customer, customer_client):
    response = customer_client.get(ME)

    assert response.status_code == status.HTTP_200_OK
    assert response.json()["id"] == customer.id
    assert response.json()["is_staff"] is False


def test_me_without_credentials_is_401(api_client):
    response = api_client.get(ME)

    assert response.status_code == status.HTTP_401_UNAUTHORIZED
    assert response.json()["code"] == "not_authenticated"


def test_me_with_a_garbage_token_is_401_token_not_valid(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer abc.def.ghi")

    response = api_client.get(ME)

    assert response.status_code == status.HTTP_401_UNAUTHORIZED
    assert response.json()["code"] == "token_not_valid"


def test_tokens_of_a_deactivated_user_stop_working_at_once(customer):
    client = bearer_client(customer)
    customer.is_active = False
    customer.save()

    response = client.get(ME)

    assert response.status_code == status.HTTP_401_UNAUTHORIZED


def test_the_refresh_token_of_a_user_deleted_without_revoking_it_is_a_401(api_client, admin_user):
    # given a session whose user is then deleted by a path that ends no session (a script)
    refresh = login(api_client, phone="0241234567", password=PASSWORD).json()["tokens"]["refresh"]
    User.objects.filter(pk=admin_user.pk).delete()

    # when it refreshes, then the answer is the JSON 401 of a dead token, not a 500
    response = api_client.post(REFRESH, {"refresh": refresh}, format="json")

    assert response.status_code == status.HTTP_401_UNAUTHORIZED
    assert response.json()["code"] == "token_not_valid"
