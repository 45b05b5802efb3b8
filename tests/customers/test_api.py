import pytest
from django.urls import reverse
from rest_framework import status

from tests.conftest import bearer_client
from tests.factories import CustomerFactory, StaffFactory
from tests.unicode import full_width
from users.models import Role, User

pytestmark = pytest.mark.django_db

LIST = reverse("users:customer-list")


def detail(customer_id: int) -> str:
    return reverse("users:customer-detail", args=[customer_id])


def field_codes(response) -> dict[str, list[str]]:
    return {
        field: [item["code"] for item in items]
        for field, items in response.json()["errors"].items()
    }


KWAME = {
    "phone": "024 123 4567",
    "first_name": "  Kwame ",
    "last_name": "Mensah",
    "email": "Kwame.Mensah@Example.COM",
    "region": "north east",
}


# --- who may call ---------------------------------------------------------------------------


def test_anonymous_callers_get_401(api_client):
    response = api_client.get(LIST)

    assert response.status_code == status.HTTP_401_UNAUTHORIZED
    assert response.json()["code"] == "not_authenticated"


def test_a_customer_cannot_list_customers(customer_client):
    response = customer_client.get(LIST)

    assert response.status_code == status.HTTP_403_FORBIDDEN
    assert response.json()["code"] == "permission_denied"


def test_a_customer_cannot_create_or_delete_customers(customer_client):
    other = CustomerFactory()

    assert customer_client.post(LIST, KWAME, format="json").status_code == 403
    assert customer_client.delete(detail(other.id)).status_code == 403
    assert User.objects.filter(pk=other.pk).exists()


def test_role_staff_without_the_staff_flag_is_not_staff():
    user = StaffFactory(user_role=Role.STAFF)

    response = bearer_client(user).get(LIST)

    assert response.status_code == status.HTTP_403_FORBIDDEN


@pytest.mark.parametrize(
    ("role", "is_staff"),
    [(Role.ADMIN, False), (Role.MANAGER, False), (Role.SUPER_ADMIN, False), (Role.CUSTOMER, True)],
)
def test_admin_roles_and_the_staff_flag_may_list(role, is_staff):
    user = StaffFactory(user_role=role, is_staff=is_staff)

    response = bearer_client(user).get(LIST)

    assert response.status_code == status.HTTP_200_OK


# --- create ---------------------------------------------------------------------------------


def test_create_stores_normalised_values(staff, staff_client):
    response = staff_client.post(LIST, KWAME, format="json")

    assert response.status_code == status.HTTP_201_CREATED
    body = response.json()
    assert body["phone"] == "+233241234567"
    assert body["first_name"] == "Kwame"
    assert body["email"] == "kwame.mensah@example.com"
    assert body["region"] == "NORTH_EAST"
    assert body["shipping_mark"] == "PM 1 KWAME"
    assert body["user_role"] == "CUSTOMER"
    assert body["created_by"] == staff.id
    created = User.objects.get(pk=body["id"])
    assert created.has_usable_password() is False


def test_create_upper_cases_the_mark_and_collapses_spaces(staff_client):
    response = staff_client.post(LIST, {**KWAME, "shipping_mark": "  pm   gold  7 "}, format="json")

    assert response.status_code == status.HTTP_201_CREATED
    assert response.json()["shipping_mark"] == "PM GOLD 7"


def test_generated_marks_get_a_number_when_the_name_is_taken(staff_client):
    first = staff_client.post(LIST, KWAME, format="json").json()
    second = staff_client.post(
        LIST, {**KWAME, "phone": "0201234567", "email": ""}, format="json"
    ).json()

    assert first["shipping_mark"] == "PM 1 KWAME"
    assert second["shipping_mark"] == "PM 1 KWAME02"
    assert second["email"] is None


def test_region_blank_takes_the_default(staff_client, settings):
    settings.DEFAULT_REGION = "ASHANTI"

    response = staff_client.post(LIST, {**KWAME, "region": ""}, format="json")

    assert response.json()["region"] == "ASHANTI"


@pytest.mark.parametrize(
    ("field", "variant"),
    [
        ("phone", "+233 24 123 4567"),
        ("phone", "233241234567"),
        ("phone", "241234567"),
        ("email", "KWAME.MENSAH@example.com"),
        ("shipping_mark", "pm  1 kwame"),
        ("shipping_mark", full_width("PM 1 KWAME")),
        ("email", full_width("kwame.mensah@example.com")),
    ],
)
def test_a_case_or_format_variant_of_a_taken_value_is_refused(staff_client, field, variant):
    staff_client.post(LIST, KWAME, format="json")
    other = {"phone": "0551234567", "first_name": "Ama", "last_name": "Owusu"}

    response = staff_client.post(LIST, {**other, field: variant}, format="json")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert field_codes(response) == {field: ["duplicate_existing"]}
    assert User.objects.filter(user_role=Role.CUSTOMER).count() == 1


@pytest.mark.parametrize(
    "look_alike",
    [
        "kwame.mensah@ex\u0430mple.com",  # a Cyrillic a in the domain
        "kwame.mensah@example.\u0441\u043e\u043c",  # a top-level domain of Cyrillic look-alikes
    ],
)
def test_an_email_that_would_look_like_another_is_refused(staff_client, look_alike):
    # given a customer with kwame.mensah@example.com
    staff_client.post(LIST, KWAME, format="json")
    other = {"phone": "0551234567", "first_name": "Ama", "last_name": "Owusu"}

    # when another is given the same address with letters of another script
    response = staff_client.post(LIST, {**other, "email": look_alike}, format="json")

    # then it is refused as an invalid email, naming the letters
    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert field_codes(response) == {"email": ["invalid_email"]}
    assert "CYRILLIC" in response.json()["detail"]


def test_every_invalid_field_is_reported_at_once(staff_client):
    response = staff_client.post(
        LIST,
        {
            "phone": "12345",
            "first_name": "",
            "last_name": "x" * 51,
            "email": "not-an-email",
            "region": "Mars",
            "shipping_mark": "=HYPERLINK(1)",
            "nickname": "Bad\u202eName",
        },
        format="json",
    )

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    body = response.json()
    assert body["code"] == "validation_error"
    assert field_codes(response) == {
        "phone": ["invalid_phone"],
        "first_name": ["required"],
        "last_name": ["too_long"],
        "email": ["invalid_email"],
        "region": ["invalid_region"],
        "shipping_mark": ["invalid_shipping_mark"],
        "nickname": ["invalid_characters"],
    }


def test_missing_required_fields_are_named(staff_client):
    response = staff_client.post(LIST, {}, format="json")

    assert field_codes(response) == {
        "phone": ["required"],
        "first_name": ["required"],
        "last_name": ["required"],
    }


def test_control_characters_are_refused(staff_client):
    response = staff_client.post(LIST, {**KWAME, "last_name": "Men\x00sah"}, format="json")

    assert field_codes(response) == {"last_name": ["invalid_characters"]}


def test_zero_width_and_non_breaking_spaces_are_cleaned(staff_client):
    response = staff_client.post(
        LIST, {**KWAME, "first_name": "Kwa\u200bme\u00a0Kofi"}, format="json"
    )

    assert response.json()["first_name"] == "Kwame Kofi"


def test_a_body_that_is_not_json_is_a_400_parse_error(staff_client):
    response = staff_client.post(LIST, data="{not json", content_type="application/json")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json()["code"] == "parse_error"


# --- read, update, delete -------------------------------------------------------------------


def test_retrieve_one_customer(staff_client):
    customer = CustomerFactory()

    response = staff_client.get(detail(customer.id))

    assert response.status_code == status.HTTP_200_OK
    assert response.json()["shipping_mark"] == customer.shipping_mark


def test_a_missing_customer_is_a_json_404(staff_client):
    response = staff_client.get(detail(999999))

    assert response.status_code == status.HTTP_404_NOT_FOUND
    assert response.json() == {
        "success": False,
        "code": "not_found",
        "message": "Not found.",
        "detail": "Not found.",
    }


def test_staff_users_are_not_reachable_as_customers(staff, staff_client):
    response = staff_client.get(detail(staff.id))

    assert response.status_code == status.HTTP_404_NOT_FOUND


def test_patch_changes_only_the_fields_sent_with_the_same_rules(staff_client):
    customer = CustomerFactory(first_name="Ama")

    response = staff_client.patch(
        detail(customer.id), {"phone": "0551234567", "region": "volta"}, format="json"
    )

    assert response.status_code == status.HTTP_200_OK
    customer.refresh_from_db()
    assert customer.phone == "+233551234567"
    assert customer.region == "VOLTA"
    assert customer.first_name == "Ama"


def test_patch_to_another_customers_email_is_refused(staff_client):
    taken = CustomerFactory(email="taken@example.com")
    customer = CustomerFactory()

    response = staff_client.patch(
        detail(customer.id), {"email": "TAKEN@example.com"}, format="json"
    )

    assert field_codes(response) == {"email": ["duplicate_existing"]}
    assert taken.email == "taken@example.com"


def test_patch_keeping_ones_own_values_is_fine(staff_client):
    customer = CustomerFactory(email="me@example.com", shipping_mark="PM ME")

    response = staff_client.patch(
        detail(customer.id), {"email": "ME@example.com", "shipping_mark": "pm me"}, format="json"
    )

    assert response.status_code == status.HTTP_200_OK


def test_patch_cannot_blank_the_shipping_mark(staff_client):
    customer = CustomerFactory()

    response = staff_client.patch(detail(customer.id), {"shipping_mark": " "}, format="json")

    assert field_codes(response) == {"shipping_mark": ["required"]}


def test_delete_removes_the_customer(staff_client):
    customer = CustomerFactory()

    response = staff_client.delete(detail(customer.id))

    assert response.status_code == status.HTTP_204_NO_CONTENT
    assert not User.objects.filter(pk=customer.pk).exists()


def test_put_replaces_the_whole_customer(staff_client):
    customer = CustomerFactory(company_name="Old Trading", nickname="Old")

    response = staff_client.put(
        detail(customer.id), {**KWAME, "shipping_mark": customer.shipping_mark}, format="json"
    )

    assert response.status_code == status.HTTP_200_OK
    body = response.json()
    assert (body["phone"], body["first_name"], body["region"]) == (
        "+233241234567",
        "Kwame",
        "NORTH_EAST",
    )
    assert (body["company_name"], body["nickname"]) == ("", "")


def test_put_without_the_required_fields_names_them(staff_client):
    customer = CustomerFactory()

    response = staff_client.put(detail(customer.id), {"first_name": "Kwame"}, format="json")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert field_codes(response) == {
        "last_name": ["required"],
        "phone": ["required"],
        "shipping_mark": ["required"],
    }


# --- list: search, filters, ordering, pagination --------------------------------------------


def ids(response) -> list[int]:
    return [item["id"] for item in response.json()["results"]]


@pytest.fixture
def three():
    return [
        CustomerFactory(
            first_name="Kwame",
            last_name="Mensah",
            phone="+233241234567",
            email="kwame@example.com",
            shipping_mark="PM GOLD",
            region="ASHANTI",
        ),
        CustomerFactory(
            first_name="Ama",
            last_name="Owusu",
            phone="+233551234567",
            email="ama@shop.gh",
            shipping_mark="PM SILVER",
            region="VOLTA",
        ),
        CustomerFactory(
            first_name="Kofi",
            last_name="Mensah",
            phone="+233201234567",
            email=None,
            shipping_mark="KOFI 9",
            region="ASHANTI",
        ),
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kwame", [0]),
        ("mensah", [0, 2]),
        ("kwame mensah", [0]),
        ("0241234567", [0]),
        ("+233 24 123 4567", [0]),
        ("241234567", [0]),
        ("55123", [1]),
        ("SHOP.GH", [1]),
        ("pm silver", [1]),
        ("gold", [0]),
        ("nobody", []),
    ],
)
def test_search_finds_by_name_phone_email_or_mark(staff_client, three, query, expected):
    response = staff_client.get(LIST, {"search": query})

    assert sorted(ids(response)) == sorted(three[i].id for i in expected)


def test_filter_by_region(staff_client, three):
    response = staff_client.get(LIST, {"region": "ASHANTI"})

    assert sorted(ids(response)) == sorted([three[0].id, three[2].id])


def test_filter_by_created_by(staff, staff_client, three):
    mine = CustomerFactory(created_by=staff)

    response = staff_client.get(LIST, {"created_by": staff.id})

    assert ids(response) == [mine.id]


def test_filter_by_import_job(staff, staff_client, three):
    from users.models import ImportJob

    job = ImportJob.objects.create(owner=staff)
    imported = CustomerFactory(import_job=job, source_row=2)

    response = staff_client.get(LIST, {"import_job": str(job.id)})

    assert ids(response) == [imported.id]


def test_an_unknown_region_filter_is_a_400(staff_client):
    response = staff_client.get(LIST, {"region": "MARS"})

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert "region" in response.json()["errors"]


def test_ordering_by_first_name(staff_client, three):
    response = staff_client.get(LIST, {"ordering": "first_name"})

    assert ids(response) == [three[1].id, three[2].id, three[0].id]


def test_default_ordering_is_newest_first(staff_client, three):
    response = staff_client.get(LIST)

    assert ids(response) == [three[2].id, three[1].id, three[0].id]


def test_pagination_shape_and_page_size(staff_client):
    CustomerFactory.create_batch(5)

    first = staff_client.get(LIST, {"page_size": 2}).json()
    last = staff_client.get(LIST, {"page_size": 2, "page": 3}).json()

    assert first["count"] == 5
    assert len(first["results"]) == 2
    assert first["previous"] is None
    assert "page=2" in first["next"]
    assert len(last["results"]) == 1
    assert last["next"] is None


def test_a_page_past_the_end_is_empty_and_keeps_the_count(staff_client):
    CustomerFactory.create_batch(3)

    response = staff_client.get(LIST, {"page": 99, "page_size": 2})

    assert response.status_code == status.HTTP_200_OK
    body = response.json()
    assert (body["count"], body["results"], body["next"]) == (3, [], None)
    assert "page=98" in body["previous"]


@pytest.mark.parametrize("page", ["0", "-1", "two"])
def test_a_page_number_that_is_not_a_positive_whole_number_is_a_400(staff_client, page):
    response = staff_client.get(LIST, {"page": page})

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json()["errors"]["page"][0]["code"] == "invalid"


def test_a_time_zone_offset_postgres_cannot_take_is_turned_to_utc_first(staff_client, three):
    response = staff_client.get(LIST, {"joined_after": "2020-01-01T00:00:00+18:30"})

    assert response.status_code == status.HTTP_200_OK
    assert response.json()["count"] == 3


def test_a_date_that_overflows_in_utc_is_a_400(staff_client):
    response = staff_client.get(LIST, {"joined_before": "0001-01-01T00:00:00+05:00"})

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert "joined_before" in response.json()["errors"]


# --- the same implementation as the SPA's /admin/users/ -------------------------------------


def test_the_user_type_is_set_through_the_customer_api(staff_client):
    customer = CustomerFactory()

    response = staff_client.patch(detail(customer.id), {"user_type": "business"}, format="json")

    assert response.json()["user_type"] == "BUSINESS"
    assert staff_client.get(LIST, {"user_type": "BUSINESS"}).json()["count"] == 1


def test_an_unknown_user_type_is_refused(staff_client):
    response = staff_client.post(LIST, {**KWAME, "user_type": "company"}, format="json")

    assert field_codes(response) == {"user_type": ["invalid_user_type"]}


def test_the_customer_api_has_the_same_actions(staff_client):
    customer = CustomerFactory()

    toggled = staff_client.post(reverse("users:customer-toggle-active", args=[customer.id]))
    stats = staff_client.get(reverse("users:customer-statistics"))

    assert toggled.json()["user"]["is_active"] is False
    assert stats.json()["customer_users"] == 1
    assert stats.json()["admin_users"] == 0


def test_a_customer_never_works_in_a_warehouse(staff_client):
    response = staff_client.post(LIST, {**KWAME, "accessible_warehouses": ["china"]}, format="json")

    assert response.json()["accessible_warehouses"] == []


def test_an_unknown_warehouse_is_refused(staff_client):
    response = staff_client.post(LIST, {**KWAME, "accessible_warehouses": ["mars"]}, format="json")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert "accessible_warehouses" in response.json()["errors"]


def test_a_huge_page_number_is_an_empty_page_not_an_error(staff_client):
    CustomerFactory()

    response = staff_client.get(LIST, {"page": str(10**30)})

    assert response.status_code == status.HTTP_200_OK
    assert response.json()["results"] == []
