"""Who may do what, on the server (users.customers.roles), through the SPA's own requests: the
Admins page (SPA-CONTRACT.md 4.5), and every refusal a 403 whose detail the SPA shows."""

import pytest

from tests.factories import CustomerFactory, StaffFactory
from tests.spa import STATISTICS, USERS, Spa, edit_client_body, user_url
from users.models import Role, User

pytestmark = pytest.mark.django_db

PASSWORD = "staff-password-1"
NEW_ADMIN = {
    "first_name": "Yaw",
    "last_name": "Boateng",
    "phone": "0551234567",
    "region": "ASHANTI",
    "company_name": "",
    "user_role": "STAFF",
    "user_type": "INDIVIDUAL",
    "accessible_warehouses": ["china", "ghana"],
    "can_create_users": False,
    "can_manage_inventory": False,
    "can_view_analytics": False,
    "can_manage_admins": False,
    "password": "Warehouse-Key-42",
    "confirm_password": "Warehouse-Key-42",
}
# What the Admins page reads of each row.
PERSONNEL_FIELDS = {
    "id",
    "full_name",
    "email",
    "phone",
    "company_name",
    "user_role",
    "is_active",
    "date_joined",
    "accessible_warehouses",
}


def signed_in(user: User) -> Spa:
    spa = Spa()
    assert spa.login(user.phone, PASSWORD).success
    return spa


@pytest.fixture
def super_admin():
    return StaffFactory(user_role=Role.SUPER_ADMIN)


@pytest.fixture
def admin():
    return StaffFactory(user_role=Role.ADMIN)


@pytest.fixture
def manager():
    return StaffFactory(user_role=Role.MANAGER)


def assert_refused(result, message: str) -> None:
    assert (result.success, result.status) == (False, 403)
    assert result.message == message


# --- the Admins page, as a super admin ------------------------------------------------------


def test_the_personnel_list_shows_staff_even_behind_many_newer_customers(super_admin):
    staff = [StaffFactory(user_role=role) for role in (Role.STAFF, Role.ADMIN, Role.MANAGER)]
    CustomerFactory.create_batch(30)
    spa = signed_in(super_admin)

    result = spa.get(USERS + "?")

    assert result.success
    personnel = [
        row
        for row in result.data["results"]
        if row["user_role"] in ("STAFF", "ADMIN", "MANAGER", "SUPER_ADMIN")
    ]
    assert {row["id"] for row in personnel} == {super_admin.id, *(s.id for s in staff)}
    assert set(personnel[0]) >= PERSONNEL_FIELDS
    assert all(isinstance(row["accessible_warehouses"], list) for row in personnel)


def test_new_admin_creates_a_staff_account_that_can_sign_in(super_admin):
    spa = signed_in(super_admin)

    result = spa.post(USERS, NEW_ADMIN)

    assert (result.success, result.status) == (True, 201)
    assert result.data["user_role"] == "STAFF"
    assert result.data["accessible_warehouses"] == ["china", "ghana"]
    assert result.data["shipping_mark"] == "PM 1 YAW"
    assert Spa().login("0551234567", "Warehouse-Key-42").success


def test_new_admin_without_an_email_key_is_fine(super_admin):
    spa = signed_in(super_admin)

    result = spa.post(USERS, {**NEW_ADMIN, "user_role": "MANAGER"})

    assert result.success
    assert result.data["email"] is None


def test_the_roles_section_reads_admin_users(super_admin, admin, manager):
    CustomerFactory.create_batch(2)

    result = signed_in(super_admin).get(STATISTICS)

    assert result.data["admin_users"] == 3
    assert result.data["total_users"] == 5


def test_a_super_admin_toggles_and_deletes_staff_accounts(super_admin, admin):
    spa = signed_in(super_admin)

    toggled = spa.post(user_url(admin.id, "toggle_active"))
    deleted = spa.delete(user_url(admin.id))

    assert toggled.success
    assert toggled.data["message"].endswith("is blocked and can no longer sign in.")
    assert deleted.success
    assert not User.objects.filter(pk=admin.pk).exists()


def test_a_super_admin_changes_roles(super_admin):
    customer = CustomerFactory()
    spa = signed_in(super_admin)

    result = spa.patch(user_url(customer.id), edit_client_body(customer, user_role="ADMIN"))

    assert result.success
    assert User.objects.get(pk=customer.pk).user_role == Role.ADMIN


def test_a_super_admin_resets_a_staff_password(super_admin, admin):
    result = signed_in(super_admin).post(
        user_url(admin.id, "reset_password"), {"new_password": "Fresh-Start-2024"}
    )

    assert result.success


def test_demoting_staff_to_customer_empties_its_warehouses(super_admin):
    staff = StaffFactory(user_role=Role.STAFF, accessible_warehouses=["china"])

    result = signed_in(super_admin).patch(
        user_url(staff.id), edit_client_body(staff, user_role="CUSTOMER")
    )

    assert result.success
    assert result.data["accessible_warehouses"] == []


# --- staff manage customers; only a super admin manages staff --------------------------------


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MANAGER])
def test_staff_manage_customers(role):
    actor = StaffFactory(user_role=role)
    customer = CustomerFactory()
    spa = signed_in(actor)

    assert spa.patch(user_url(customer.id), edit_client_body(customer, first_name="Kofi")).success
    assert spa.post(user_url(customer.id, "toggle_active")).success
    assert spa.post(user_url(customer.id, "reset_password"), {"new_password": "PrimeMade1"}).success
    assert spa.delete(user_url(customer.id)).success


@pytest.mark.parametrize("role", ["STAFF", "ADMIN", "MANAGER", "SUPER_ADMIN"])
def test_only_a_super_admin_creates_staff_accounts(admin, role):
    result = signed_in(admin).post(USERS, {**NEW_ADMIN, "user_role": role})

    assert_refused(result, "Only a super admin can create staff accounts.")
    assert not User.objects.filter(phone="+233551234567").exists()


@pytest.mark.parametrize("actor_role", [Role.ADMIN, Role.MANAGER])
def test_only_a_super_admin_edits_blocks_deletes_resets_or_messages_staff(actor_role, twilio):
    actor = StaffFactory(user_role=actor_role)
    target = StaffFactory(user_role=Role.STAFF)
    spa = signed_in(actor)

    assert_refused(
        spa.patch(user_url(target.id), edit_client_body(target, first_name="Changed")),
        "Only a super admin can change staff accounts.",
    )
    assert_refused(
        spa.post(user_url(target.id, "toggle_active")),
        "Only a super admin can block or unblock staff accounts.",
    )
    assert_refused(spa.delete(user_url(target.id)), "Only a super admin can delete staff accounts.")
    assert_refused(
        spa.post(user_url(target.id, "reset_password"), {"new_password": "PrimeMade1"}),
        "Only a super admin can reset the password of a staff account.",
    )
    assert_refused(
        spa.post(user_url(target.id, "send_message"), {"subject": "Hi", "message": "Hello"}),
        "Only a super admin can message staff accounts.",
    )
    target.refresh_from_db()
    assert (target.first_name, target.is_active) != ("Changed", False)
    assert twilio.sent == []


def test_staff_see_their_colleagues_on_the_admins_page_but_not_super_admins(
    admin, manager, super_admin
):
    result = signed_in(admin).get(USERS + "?")

    assert {row["id"] for row in result.data["results"]} == {admin.id, manager.id}


def test_only_a_super_admin_changes_a_role(admin):
    customer = CustomerFactory()

    result = signed_in(admin).patch(
        user_url(customer.id), edit_client_body(customer, user_role="ADMIN")
    )

    assert_refused(result, "Only a super admin can change a user's role.")
    assert User.objects.get(pk=customer.pk).user_role == Role.CUSTOMER


def test_sending_the_role_a_customer_already_has_is_no_role_change(admin):
    customer = CustomerFactory()

    result = signed_in(admin).patch(
        user_url(customer.id), edit_client_body(customer, user_role="CUSTOMER", nickname="KB")
    )

    assert result.success


# --- nobody changes their own role, blocks or deletes themselves ----------------------------


def test_nobody_changes_their_own_role(super_admin):
    spa = signed_in(super_admin)

    result = spa.patch(
        user_url(super_admin.id), edit_client_body(super_admin, user_role="CUSTOMER")
    )

    assert_refused(result, "You cannot change your own role.")
    assert User.objects.get(pk=super_admin.pk).user_role == Role.SUPER_ADMIN


def test_nobody_blocks_themselves(super_admin):
    spa = signed_in(super_admin)

    assert_refused(
        spa.post(user_url(super_admin.id, "toggle_active")), "You cannot block your own account."
    )
    assert_refused(
        spa.patch(user_url(super_admin.id), edit_client_body(super_admin, is_active=False)),
        "You cannot block your own account.",
    )
    assert User.objects.get(pk=super_admin.pk).is_active is True


def test_nobody_deletes_themselves(super_admin):
    result = signed_in(super_admin).delete(user_url(super_admin.id))

    assert_refused(result, "You cannot delete your own account.")
    assert User.objects.filter(pk=super_admin.pk).exists()


def test_nobody_resets_their_own_password_here(super_admin):
    result = signed_in(super_admin).post(
        user_url(super_admin.id, "reset_password"), {"new_password": "PrimeMade1"}
    )

    assert_refused(
        result, "Change your own password from your profile, with your current password."
    )


def test_a_super_admin_edits_their_own_names_here(super_admin):
    result = signed_in(super_admin).patch(
        user_url(super_admin.id), edit_client_body(super_admin, first_name="Efua")
    )

    assert result.success
    assert result.data["first_name"] == "Efua"


# --- a manager or admin never sees or touches a super admin ---------------------------------


@pytest.mark.parametrize("actor_role", [Role.ADMIN, Role.MANAGER])
def test_a_super_admin_does_not_exist_for_other_staff(actor_role, super_admin):
    actor = StaffFactory(user_role=actor_role)
    spa = signed_in(actor)

    listed = spa.get(USERS + "?page_size=100")
    assert super_admin.id not in {row["id"] for row in listed.data["results"]}
    assert spa.get(STATISTICS).data["admin_users"] == 1
    for result in (
        spa.get(user_url(super_admin.id)),
        spa.patch(user_url(super_admin.id), {"first_name": "X"}),
        spa.post(user_url(super_admin.id, "toggle_active")),
        spa.post(user_url(super_admin.id, "reset_password"), {"new_password": "PrimeMade1"}),
        spa.delete(user_url(super_admin.id)),
    ):
        assert (result.success, result.status) == (False, 404)
    super_admin.refresh_from_db()
    assert super_admin.is_active is True


def test_a_django_superuser_without_the_role_is_a_super_admin_too(admin):
    superuser = StaffFactory(user_role=Role.ADMIN, is_superuser=True)

    result = signed_in(admin).get(user_url(superuser.id))

    assert result.status == 404


# --- who is not staff -----------------------------------------------------------------------


def test_a_customer_is_refused_the_user_list_with_a_detail():
    customer = CustomerFactory(password=PASSWORD)

    result = signed_in(customer).get(USERS + "?")

    assert_refused(result, "Only staff can do this.")


def test_role_staff_signs_in_but_is_not_an_admin_user_and_manages_nothing():
    staff = StaffFactory(user_role=Role.STAFF)
    spa = Spa()

    login = spa.login(staff.phone, PASSWORD)

    assert login.data["user"]["is_admin_user"] is False
    assert_refused(spa.get(USERS + "?"), "Only staff can do this.")
    assert_refused(spa.post(USERS, NEW_ADMIN), "Only staff can do this.")
