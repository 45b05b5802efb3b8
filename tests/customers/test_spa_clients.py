"""The SPA's Clients page and admin dashboard (SPA-CONTRACT.md 4.3, 4.4 and every row of 6.1),
replayed through its ApiClient (tests.spa) with the bodies, query strings and headers it
sends, asserting what it reads."""

import pytest

from tests.factories import CustomerFactory, StaffFactory
from tests.spa import NEW_CLIENT, STATISTICS, USERS, Spa, edit_client_body, query, user_url
from users.models import PasswordChange, Role, User

pytestmark = pytest.mark.django_db

PASSWORD = "staff-password-1"
# What the Clients page reads of each row (SPA-CONTRACT.md 4.3).
ROW_FIELDS = {
    "id",
    "full_name",
    "first_name",
    "last_name",
    "email",
    "phone",
    "region",
    "company_name",
    "shipping_mark",
    "user_type",
    "is_active",
    "is_verified",
    "date_joined",
    "nickname",
    "user_role",
}


@pytest.fixture
def admin():
    return StaffFactory(user_role=Role.ADMIN, phone="+233200000001", first_name="Ama")


@pytest.fixture
def spa(admin) -> Spa:
    spa = Spa()
    assert spa.login("0200000001", PASSWORD).success
    return spa


def clients_page(page: int = 1, page_size: int = 25, **extra) -> str:
    return USERS + query(
        user_role="CUSTOMER", ordering="-date_joined", **extra, page=page, page_size=page_size
    )


# --- sign in, page load, sign out -----------------------------------------------------------


def test_sign_in_gives_tokens_and_a_user_routed_to_the_admin_screens(admin):
    spa = Spa()

    result = spa.login("0200000001", PASSWORD)

    assert result.success
    assert result.data["tokens"]["access"]
    assert result.data["tokens"]["refresh"]
    user = result.data["user"]
    assert user["id"] == admin.id
    assert user["user_role"] == "ADMIN"
    assert user["is_admin_user"] is True
    assert user["first_name"] == "Ama"


def test_bad_credentials_are_a_400_so_the_login_page_keeps_its_message(admin):
    spa = Spa()

    result = spa.login("0200000001", "not-the-password")

    assert (result.success, result.status) == (False, 400)
    # A 401 would have sent the SPA through handleLogout, which reloads /login.
    assert spa.signed_out is False
    assert result.message == "Phone number, email or password is incorrect."


def test_page_load_profile_is_the_full_user_with_role_and_admin_flag(spa, admin):
    result = spa.get("/api/auth/profile/")

    assert result.success
    assert result.data["id"] == admin.id
    assert result.data["user_role"] == "ADMIN"
    assert result.data["is_admin_user"] is True
    assert isinstance(result.data["user_type"], str)
    assert result.data["accessible_warehouses"] == []


def test_sign_out_answers_2xx_and_the_refresh_token_is_dead_after(spa):
    refresh = spa.storage["refresh_token"]

    result = spa.logout()

    assert result.success
    again = Spa()
    again.storage["refresh_token"] = refresh
    assert again.timer_refresh().success is False
    assert again.signed_out is True


def test_every_request_carries_the_json_content_type_and_the_bearer(spa):
    spa.get(clients_page())
    spa.delete(user_url(CustomerFactory().id))

    assert [method for method, _path, _headers in spa.sent[1:]] == ["GET", "DELETE"]
    for _method, _path, headers in spa.sent[1:]:
        assert headers["Content-Type"] == "application/json"
        assert headers["Authorization"].startswith("Bearer ")


# --- the list: count, search, filters, counters, export -------------------------------------


def test_the_clients_page_lists_customers_newest_first_with_the_fields_it_reads(spa):
    customers = CustomerFactory.create_batch(30)

    result = spa.get(clients_page())

    assert result.success
    assert result.data["count"] == 30
    rows = result.data["results"]
    assert len(rows) == 25
    assert [row["id"] for row in rows] == [c.id for c in reversed(customers)][:25]
    assert set(rows[0]) >= ROW_FIELDS
    assert {row["user_role"] for row in rows} == {"CUSTOMER"}


def test_the_second_page_holds_the_rest(spa):
    CustomerFactory.create_batch(30)

    result = spa.get(clients_page(page=2))

    assert (result.data["count"], len(result.data["results"])) == (30, 5)


def test_a_page_past_the_end_keeps_the_count_so_the_spa_steps_back(spa):
    CustomerFactory.create_batch(3)

    result = spa.get(clients_page(page=2, page_size=10))

    assert result.success
    assert (result.data["count"], result.data["results"]) == (3, [])


@pytest.mark.parametrize(
    "typed", ["0241234567", "024 123 4567", "+233 24 123 4567", "233241234567", "1234567"]
)
def test_search_finds_a_phone_however_it_is_typed(spa, typed):
    wanted = CustomerFactory(phone="+233241234567")
    CustomerFactory(phone="+233551112222")

    result = spa.get(clients_page(search=typed))

    assert [row["id"] for row in result.data["results"]] == [wanted.id]


def test_search_finds_names_marks_and_emails(spa):
    kwame = CustomerFactory(first_name="Kwame", shipping_mark="PM GOLD 7", email="k@example.com")
    CustomerFactory(first_name="Ama")

    for text in ("kwame", "gold 7", "K@EXAMPLE"):
        result = spa.get(clients_page(search=text))
        assert [row["id"] for row in result.data["results"]] == [kwame.id], text


def test_the_active_and_inactive_counters_read_count_from_a_one_row_page(spa):
    CustomerFactory.create_batch(4)
    CustomerFactory.create_batch(2, is_active=False)

    active = spa.get(clients_page(page=1, page_size=1, is_active=True))
    inactive = spa.get(clients_page(page=1, page_size=1, is_active=False))

    assert (active.data["count"], inactive.data["count"]) == (4, 2)
    assert len(active.data["results"]) == 1


def test_the_active_filter_sits_where_the_spa_puts_it(spa):
    CustomerFactory(is_active=False)

    path = USERS + query(
        user_role="CUSTOMER", ordering="-date_joined", search="PM", is_active=False, page=1
    )
    result = spa.get(path + "&page_size=25")

    assert result.data["count"] == 1


def test_the_excel_export_gets_every_customer_in_one_page_of_10000(spa):
    CustomerFactory.create_batch(60)
    StaffFactory()

    result = spa.get(USERS + query(user_role="CUSTOMER", ordering="-date_joined", page_size=10000))

    assert result.data["count"] == 60
    assert len(result.data["results"]) == 60
    assert result.data["next"] is None


def test_a_page_larger_than_10000_is_cut_to_10000(spa, monkeypatch):
    from users.web import pagination

    monkeypatch.setattr(pagination.PageNumberPagination, "max_page_size", 5)
    CustomerFactory.create_batch(7)

    result = spa.get(clients_page(page_size=20000))

    assert (result.data["count"], len(result.data["results"])) == (7, 5)


def test_a_list_row_is_the_same_user_as_its_detail(spa):
    customer = CustomerFactory(accessible_warehouses=[], user_type="BUSINESS")

    row = spa.get(clients_page()).data["results"][0]

    assert row == spa.get(user_url(customer.id)).data


@pytest.mark.parametrize("param", ["user_type=BUSINESS", "region=ASHANTI"])
def test_the_list_filters_by_user_type_and_region(spa, param):
    wanted = CustomerFactory(user_type="BUSINESS", region="ASHANTI")
    CustomerFactory()

    result = spa.get(f"{USERS}?user_role=CUSTOMER&{param}")

    assert [row["id"] for row in result.data["results"]] == [wanted.id]


def test_an_unknown_filter_value_is_a_400_with_a_detail(spa):
    result = spa.get(USERS + "?user_role=KING")

    assert (result.success, result.status) == (False, 400)
    assert result.message.startswith("User role: ")


# --- New Client, Edit Client ----------------------------------------------------------------


def test_new_client_path_a_creates_a_verified_customer_and_answers_its_id(spa, admin):
    result = spa.post(USERS, NEW_CLIENT)

    assert (result.success, result.status) == (True, 201)
    created = User.objects.get(pk=result.data["id"])
    assert created.phone == "+233241234567"
    assert created.shipping_mark == "PM GOLD 7"
    assert created.email is None
    assert (created.user_role, created.user_type, created.is_verified) == (
        "CUSTOMER",
        "INDIVIDUAL",
        True,
    )
    assert created.created_by == admin
    assert created.accessible_warehouses == []


def test_new_clients_follow_up_patch_succeeds(spa):
    created = spa.post(USERS, NEW_CLIENT).data

    follow_up = spa.patch(
        user_url(created["id"]),
        {
            "shipping_mark": "pm Gold 7",
            "is_verified": True,
            "user_role": "CUSTOMER",
            "is_active": True,
        },
    )

    assert follow_up.success
    assert follow_up.data["shipping_mark"] == "PM GOLD 7"


def test_new_clients_password_is_temporary_and_recorded(spa, admin):
    created = spa.post(USERS, NEW_CLIENT).data

    user = User.objects.get(pk=created["id"])
    assert user.password_expires_at is not None
    assert created["password_temporary"] is True
    record = PasswordChange.objects.get(user=user)
    assert (record.set_by, record.kind, record.temporary) == (
        admin,
        PasswordChange.Kind.CREATED,
        True,
    )
    assert Spa().login("0241234567", "PrimeMade1").success


def test_new_client_with_a_taken_phone_fails_with_a_sentence(spa):
    CustomerFactory(phone="+233241234567")

    result = spa.post(USERS, NEW_CLIENT)

    assert (result.success, result.status) == (False, 400)
    assert result.message == "Phone: A customer with this phone number already exists."


def test_new_client_with_passwords_that_differ_is_refused(spa):
    result = spa.post(USERS, {**NEW_CLIENT, "confirm_password": "PrimeMade2"})

    assert result.success is False
    assert result.message == "Confirm password: The two passwords are not the same."


def test_new_client_with_a_weak_password_meets_djangos_validators(spa):
    result = spa.post(USERS, {**NEW_CLIENT, "password": "12345", "confirm_password": "12345"})

    assert result.success is False
    assert result.message.startswith("Password: ")
    assert not User.objects.filter(phone="+233241234567").exists()


def test_edit_client_sends_all_twelve_fields_and_blank_ones_clear(spa):
    customer = CustomerFactory(nickname="KM", company_name="Mensah Trading")

    result = spa.patch(
        user_url(customer.id),
        edit_client_body(
            customer,
            first_name="Kwabena",
            nickname="",
            email="",
            company_name="",
            region="ASHANTI",
            user_type="BUSINESS",
            is_verified=False,
        ),
    )

    assert result.success
    customer.refresh_from_db()
    assert customer.first_name == "Kwabena"
    assert (customer.nickname, customer.email, customer.company_name) == ("", None, "")
    assert (customer.region, customer.user_type, customer.is_verified) == (
        "ASHANTI",
        "BUSINESS",
        False,
    )


def test_edit_client_to_another_customers_mark_fails_with_a_sentence(spa):
    CustomerFactory(shipping_mark="PM TAKEN")
    customer = CustomerFactory()

    result = spa.patch(user_url(customer.id), edit_client_body(customer, shipping_mark="pm taken"))

    assert result.success is False
    assert result.message == "Shipping mark: A customer with this shipping mark already exists."


# --- Block, Reset Password, Delete, Send Message --------------------------------------------


def test_block_answers_the_user_the_toast_reads_and_unblock_turns_it_back(spa):
    customer = CustomerFactory()

    blocked = spa.post(user_url(customer.id, "toggle_active"))
    unblocked = spa.post(user_url(customer.id, "toggle_active"))

    assert blocked.success
    assert unblocked.success
    assert blocked.data["user"]["is_active"] is False
    assert unblocked.data["user"]["is_active"] is True
    assert "blocked" in blocked.data["message"]


def test_a_blocked_customer_is_signed_out_and_cannot_sign_in(spa):
    customer = CustomerFactory(phone="+233241234567", password="customer-pass-1")
    theirs = Spa()
    assert theirs.login("0241234567", "customer-pass-1").success

    spa.post(user_url(customer.id, "toggle_active"))

    assert theirs.get("/api/auth/profile/").success is False
    assert theirs.signed_out is True
    assert Spa().login("0241234567", "customer-pass-1").status == 403


def test_blocking_through_edit_client_also_ends_the_customers_sessions(spa):
    customer = CustomerFactory(phone="+233241234567", password="customer-pass-1")
    theirs = Spa()
    theirs.login("0241234567", "customer-pass-1")

    result = spa.patch(user_url(customer.id), edit_client_body(customer, is_active=False))

    assert result.data["is_active"] is False
    assert theirs.timer_refresh().status == 401


def test_reset_password_sets_the_spas_password_as_a_temporary_one(spa, admin):
    customer = CustomerFactory(phone="+233241234567", password="customer-pass-1")
    theirs = Spa()
    theirs.login("0241234567", "customer-pass-1")

    result = spa.post(user_url(customer.id, "reset_password"), {"new_password": "PrimeMade1"})

    assert result.success
    assert result.data["password_expires_at"]
    customer.refresh_from_db()
    assert customer.check_password("PrimeMade1")
    record = PasswordChange.objects.get(user=customer)
    assert (record.set_by, record.kind, record.temporary) == (
        admin,
        PasswordChange.Kind.RESET,
        True,
    )
    # Their sessions ended: the next refresh fails.
    assert theirs.timer_refresh().success is False


def test_reset_password_to_a_password_djangos_validators_refuse_fails(spa):
    customer = CustomerFactory()

    result = spa.post(user_url(customer.id, "reset_password"), {"new_password": "password"})

    assert (result.success, result.status) == (False, 400)
    assert result.message.startswith("New password: ")


def test_delete_answers_204_and_the_customer_is_gone(spa):
    customer = CustomerFactory()

    result = spa.delete(user_url(customer.id))

    assert (result.success, result.status, result.data) == (True, 204, None)
    assert not User.objects.filter(pk=customer.pk).exists()


def test_a_deleted_users_session_ends_cleanly_at_its_refresh(spa):
    customer = CustomerFactory(phone="+233241234567", password="customer-pass-1")
    theirs = Spa()
    theirs.login("0241234567", "customer-pass-1")

    spa.delete(user_url(customer.id))

    refresh = theirs.timer_refresh()
    assert (refresh.success, refresh.status) == (False, 401)


def test_send_message_texts_the_subject_and_message_to_the_customer(spa, twilio):
    customer = CustomerFactory(phone="+233241234567")

    result = spa.post(
        user_url(customer.id, "send_message"),
        {"subject": "Goods arrived", "message": "Your goods are in the Accra warehouse."},
    )

    assert result.success
    assert twilio.sent == [
        {
            "to": "+233241234567",
            "from_": "+15005550006",
            "body": "Goods arrived\n\nYour goods are in the Accra warehouse.",
        }
    ]


def test_send_message_without_sms_settings_is_a_clear_error(spa, settings):
    settings.SMS_BACKEND = "disabled"
    customer = CustomerFactory()

    result = spa.post(user_url(customer.id, "send_message"), {"subject": "Hi", "message": "Hello"})

    assert (result.success, result.status) == (False, 503)
    assert result.message.startswith("Text messages are not set up on this server")


def test_send_message_when_the_provider_fails_says_so(spa, twilio):
    from twilio.base.exceptions import TwilioRestException

    twilio.fail_with = TwilioRestException(500, "https://api.twilio.com", code=30003)
    customer = CustomerFactory()

    result = spa.post(user_url(customer.id, "send_message"), {"subject": "Hi", "message": "Hello"})

    assert (result.success, result.status) == (False, 502)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"subject": "x" * 101, "message": "Hello"}, "Subject"),
        ({"subject": "Hi", "message": "x" * 1001}, "Message"),
        ({"subject": "", "message": "Hello"}, "Subject"),
        ({"subject": "Hi"}, "Message"),
    ],
)
def test_send_message_checks_lengths(spa, twilio, body, field):
    customer = CustomerFactory()

    result = spa.post(user_url(customer.id, "send_message"), body)

    assert (result.success, result.status) == (False, 400)
    assert result.message.startswith(f"{field}: ")
    assert twilio.sent == []


def test_send_message_is_rate_limited_per_admin(spa, twilio, monkeypatch):
    from rest_framework.throttling import ScopedRateThrottle

    # DRF reads SEND_MESSAGE_RATE once, into the throttle class.
    rates = {**ScopedRateThrottle.THROTTLE_RATES, "send_message": "2/hour"}
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", rates)
    customer = CustomerFactory()
    url = user_url(customer.id, "send_message")
    body = {"subject": "Hi", "message": "Hello"}

    results = [spa.post(url, body) for _ in range(3)]

    assert [r.status for r in results] == [200, 200, 429]
    assert len(twilio.sent) == 2
    other = Spa()
    other_admin = StaffFactory(phone="+233200000002")
    other.login(other_admin.phone, PASSWORD)
    assert other.post(url, body).status == 200


# --- the dashboard card ---------------------------------------------------------------------


def test_the_dashboard_reads_active_users_from_statistics(spa):
    CustomerFactory.create_batch(3)
    CustomerFactory(is_active=False)

    result = spa.get(STATISTICS)

    assert result.success
    # Three active customers and the signed-in admin.
    assert result.data["active_users"] == 4
    assert result.data["active_customers"] == 3
    assert result.data["customer_users"] == 4
    assert result.data["admin_users"] == 1
