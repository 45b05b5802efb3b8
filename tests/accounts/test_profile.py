"""The caller's profile and password change as the SPA's /profile and /my-profile use them
(SPA-CONTRACT.md 4.6), through its ApiClient."""

import pytest

from tests.factories import CustomerFactory, StaffFactory
from tests.spa import PASSWORD_CHANGE, PROFILE, Spa
from users.models import PasswordChange, Role

pytestmark = pytest.mark.django_db

PASSWORD = "customer-pass-1"


@pytest.fixture
def customer():
    return CustomerFactory(
        phone="+233241234567",
        email="kwame@example.com",
        password=PASSWORD,
        first_name="Kwame",
        last_name="Mensah",
        shipping_mark="PM GOLD 7",
    )


@pytest.fixture
def spa(customer) -> Spa:
    spa = Spa()
    assert spa.login("0241234567", PASSWORD).success
    return spa


def profile_form(**changes) -> dict:
    """ProfileSettings' PUT body: always these seven fields."""
    body = {
        "first_name": "Kwame",
        "last_name": "Mensah",
        "company_name": "",
        "email": "kwame@example.com",
        "phone": "+233241234567",
        "region": "GREATER_ACCRA",
        "user_type": "INDIVIDUAL",
    }
    return {**body, **changes}


def test_get_profile_fills_the_form_and_renders_the_account(spa, customer):
    result = spa.get(PROFILE)

    assert result.success
    data = result.data
    assert data["id"] == customer.id
    for key in ("first_name", "last_name", "company_name", "email", "phone", "region"):
        assert data[key] == getattr(customer, key)
    assert (data["user_role"], data["user_type"]) == ("CUSTOMER", "INDIVIDUAL")
    assert data["is_admin_user"] is False
    assert data["shipping_mark"] == "PM GOLD 7"
    assert data["accessible_warehouses"] == []
    assert data["is_active"] is True
    assert data["date_joined"]


def test_get_profile_for_a_staff_account_says_it_is_an_admin_user():
    staff = StaffFactory(user_role=Role.MANAGER, accessible_warehouses=["ghana"])
    spa = Spa()
    spa.login(staff.phone, "staff-password-1")

    data = spa.get(PROFILE).data

    assert (data["user_role"], data["is_admin_user"]) == ("MANAGER", True)
    assert data["accessible_warehouses"] == ["ghana"]


def test_get_profile_without_a_token_is_401(api_client):
    assert api_client.get(PROFILE).status_code == 401


def test_put_profile_changes_names_company_email_region_and_type(spa, customer):
    result = spa.put(
        PROFILE,
        profile_form(
            first_name=" Kwabena ",
            company_name="Mensah Trading",
            email="Kwabena@Example.com",
            region="ashanti",
            user_type="BUSINESS",
        ),
    )

    assert result.success
    assert result.data["first_name"] == "Kwabena"
    assert result.data["email"] == "kwabena@example.com"
    assert (result.data["region"], result.data["user_type"]) == ("ASHANTI", "BUSINESS")
    assert isinstance(result.data["accessible_warehouses"], list)
    customer.refresh_from_db()
    assert (customer.company_name, customer.region) == ("Mensah Trading", "ASHANTI")


def test_region_is_free_text_read_by_name_or_code(spa):
    result = spa.put(PROFILE, profile_form(region="Upper East"))

    assert result.data["region"] == "UPPER_EAST"


def test_the_phone_may_come_back_in_another_format(spa):
    result = spa.put(PROFILE, profile_form(phone="024 123 4567", first_name="Kofi"))

    assert result.success
    assert result.data["first_name"] == "Kofi"


def test_a_new_phone_is_refused_and_nothing_is_saved(spa, customer):
    result = spa.put(PROFILE, profile_form(phone="0551234567", first_name="Kofi"))

    assert (result.success, result.status) == (False, 400)
    assert result.message.startswith("Phone: Your phone number is changed by an administrator")
    customer.refresh_from_db()
    assert (customer.phone, customer.first_name) == ("+233241234567", "Kwame")


@pytest.mark.parametrize(
    ("field", "value"),
    [("shipping_mark", "PM NEW"), ("user_role", "ADMIN"), ("is_verified", False)],
)
def test_the_mark_the_role_and_the_verified_flag_are_not_the_users_to_change(
    spa, customer, field, value
):
    result = spa.put(PROFILE, profile_form(**{field: value}))

    assert (result.success, result.status) == (False, 400)
    customer.refresh_from_db()
    assert (customer.shipping_mark, customer.user_role, customer.is_verified) == (
        "PM GOLD 7",
        "CUSTOMER",
        True,
    )


def test_an_email_someone_else_has_is_refused_with_a_sentence(spa):
    CustomerFactory(email="taken@example.com")

    result = spa.put(PROFILE, profile_form(email="TAKEN@example.com"))

    assert result.message == "Email: A customer with this email address already exists."


def test_an_unknown_region_is_refused_with_a_sentence(spa):
    result = spa.put(PROFILE, profile_form(region="Atlantis"))

    assert result.message == "Region: Not a region of Ghana."


# --- password change ------------------------------------------------------------------------


def change(spa: Spa, old: str, new: str, confirm: str | None = None):
    return spa.post(
        PASSWORD_CHANGE,
        {"old_password": old, "new_password": new, "confirm_password": confirm or new},
    )


def test_a_wrong_old_password_is_400_and_the_session_lives_on(spa):
    result = change(spa, "not-my-password", "Brand-New-Pass-9")

    assert (result.success, result.status) == (False, 400)
    assert result.message == "Old password: Your current password is not right."
    assert spa.signed_out is False
    assert spa.get(PROFILE).success


def test_new_and_confirm_must_match(spa):
    result = change(spa, PASSWORD, "Brand-New-Pass-9", "Brand-New-Pass-8")

    assert result.message == "Confirm password: The two passwords are not the same."


@pytest.mark.parametrize("new", ["short1", "password123", "12345678901"])
def test_djangos_validators_apply(spa, new):
    result = change(spa, PASSWORD, new)

    assert (result.success, result.status) == (False, 400)
    assert result.message.startswith("New password: ")


@pytest.mark.parametrize("new", ["PrimeMade", "PrimeMade1", "primemade1"])
def test_the_apps_shared_defaults_are_refused_as_ones_own(spa, new):
    result = change(spa, PASSWORD, new)

    assert result.message.startswith("New password: This password is known to others")


def test_the_current_password_is_no_new_one(spa):
    result = change(spa, PASSWORD, PASSWORD)

    assert result.message.startswith("New password: Choose a new password")


def test_a_password_change_works_ends_every_session_and_is_recorded(spa, customer):
    other_device = Spa()
    other_device.login("0241234567", PASSWORD)

    result = change(spa, PASSWORD, "Brand-New-Pass-9")

    assert result.success
    assert other_device.timer_refresh().success is False
    assert spa.timer_refresh().success is False
    assert Spa().login("0241234567", "Brand-New-Pass-9").success
    assert Spa().login("0241234567", PASSWORD).success is False
    record = PasswordChange.objects.get(user=customer)
    assert (record.set_by, record.kind, record.temporary) == (
        customer,
        PasswordChange.Kind.CHANGED,
        False,
    )


def test_password_change_without_a_token_is_401(api_client):
    response = api_client.post(
        PASSWORD_CHANGE,
        {"old_password": "a", "new_password": "b", "confirm_password": "b"},
        format="json",
    )

    assert response.status_code == 401
