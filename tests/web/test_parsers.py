"""JSON bodies: whatever a client sends, a body that does not parse is a 400 parse_error."""

import pytest
from django.urls import reverse
from rest_framework import status

from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

# Deep enough that json.loads gives up with RecursionError, not ValueError (only the legacy
# bulk body may hold that many values).
DEEP = "[" * 50_000
# Far deeper than any request needs, within the sizes and value counts of every endpoint.
NESTED = "[" * 200
ANONYMOUS_POSTS = ["login", "token-refresh", "logout", "password-reset", "password-reset-confirm"]
STAFF_POSTS = ["customer-list", "admin-user-list", "import-confirm", "import-confirm-async"]


def assert_parse_error(response) -> None:
    assert response.status_code == status.HTTP_400_BAD_REQUEST
    body = response.json()
    assert body["success"] is False
    assert body["code"] == "parse_error"
    assert body["message"]


@pytest.mark.parametrize("name", ANONYMOUS_POSTS)
def test_a_deeply_nested_body_is_a_parse_error_for_anyone(api_client, name):
    # given an anonymous client, when it posts 200 nested "["
    response = api_client.post(reverse(f"users:{name}"), NESTED, content_type="application/json")

    # then the answer is a 400 parse_error, not a 500
    assert_parse_error(response)


@pytest.mark.parametrize("name", STAFF_POSTS)
def test_a_deeply_nested_body_is_a_parse_error_for_staff(staff_client, name):
    response = staff_client.post(reverse(f"users:{name}"), NESTED, content_type="application/json")

    assert_parse_error(response)


def test_nesting_json_loads_cannot_parse_is_a_parse_error(staff_client):
    # given the one body that may hold 50,000 values, when they are 50,000 nested "["
    response = staff_client.post(
        reverse("users:import-confirm"), DEEP, content_type="application/json"
    )

    assert_parse_error(response)


def test_a_deeply_nested_patch_of_a_customer_is_a_parse_error(staff_client):
    customer = CustomerFactory()

    response = staff_client.patch(
        reverse("users:customer-detail", args=[customer.pk]),
        NESTED,
        content_type="application/json",
    )

    assert_parse_error(response)


def test_nesting_far_deeper_than_any_request_needs_is_refused_before_it_reaches_a_view(
    staff_client,
):
    # given a body that parses, but nests lists 500 deep inside a customer field
    body = '{"customers": [{"first_name": ' + "[" * 500 + "]" * 500 + "}]}"

    response = staff_client.post(
        reverse("users:import-confirm"), body, content_type="application/json"
    )

    assert_parse_error(response)
    assert "nested" in response.json()["message"]


def test_ordinary_nesting_still_parses(staff_client):
    response = staff_client.post(
        reverse("users:import-confirm"),
        {"customers": [{"first_name": "Ama", "last_name": "Owusu", "phone": "0241234567"}]},
        format="json",
    )

    assert response.status_code == status.HTTP_202_ACCEPTED


@pytest.mark.parametrize("name", ["password-change", "profile"])
def test_a_deeply_nested_body_is_a_parse_error_for_a_signed_in_customer(customer_client, name):
    response = (
        customer_client.post(reverse(f"users:{name}"), NESTED, content_type="application/json")
        if name == "password-change"
        else customer_client.put(reverse(f"users:{name}"), NESTED, content_type="application/json")
    )

    assert_parse_error(response)
