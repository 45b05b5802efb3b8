"""Bodies that cost more than their bytes: each endpoint takes a body no larger than it needs,
a JSON body holds no more values than its endpoint needs (counted before it is built), JSON in a
form field goes through the same parser, and a flood from one address is refused before its
body is read."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from rest_framework import status
from rest_framework.throttling import SimpleRateThrottle

from tests.excel import builders
from users.web import parsers

pytestmark = pytest.mark.django_db

SMALL_POSTS = [
    "login",
    "token-refresh",
    "logout",
    "password-reset",
    "password-reset-confirm",
    "generate-shipping-marks",
    "signup-with-shipping-mark",
    "signup",
    "verify-phone",
    "resend-verification",
    "phone-forgot-password",
    "verify-shipping-mark",
]
# A sign-in, a PIN or a profile is a few fields; 40 KB is more than any of them needs.
TOO_LARGE = json.dumps({"phone": "0241234567", "name": "A" * 40_000})


def empty_objects(size: int) -> str:
    """`[{},{},...]` of about `size` bytes: the most values per byte JSON allows."""
    return "[" + ",".join(["{}"] * (size // 3)) + "]"


def assert_error(response, status_code: int, code: str) -> None:
    assert response.status_code == status_code
    body = response.json()
    assert (body["success"], body["code"]) == (False, code)
    assert body["detail"]


@pytest.mark.parametrize("name", SMALL_POSTS)
def test_a_body_over_32_kb_is_413_at_every_sign_in_and_self_service_endpoint(api_client, name):
    # given an anonymous client, when it posts 40 KB to an endpoint that takes a few fields
    response = api_client.post(reverse(f"users:{name}"), TOO_LARGE, content_type="application/json")

    # then it is refused from its length, before the body is read
    assert_error(response, status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, "request_too_large")


def test_a_profile_over_32_kb_is_413(customer_client):
    response = customer_client.put(
        reverse("users:profile"), TOO_LARGE, content_type="application/json"
    )

    assert_error(response, status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, "request_too_large")


def test_a_staff_body_of_many_small_objects_is_refused_before_it_is_built(staff_client):
    # given 20,000 empty objects in 60 KB (one customer is a few dozen values)
    body = empty_objects(60_000)

    response = staff_client.post(
        reverse("users:customer-list"), body, content_type="application/json"
    )

    assert_error(response, status.HTTP_400_BAD_REQUEST, "too_many_values")


def test_a_bulk_body_of_many_small_objects_is_refused_before_it_is_built(staff_client):
    # given the legacy bulk body's own limit (2.5 MB) filled with 800,000 empty objects
    body = empty_objects(2_400_000)

    response = staff_client.post(
        reverse("users:import-confirm"), body, content_type="application/json"
    )

    assert_error(response, status.HTTP_400_BAD_REQUEST, "too_many_values")


def test_a_legacy_body_of_more_than_10000_customers_is_refused_before_each_is_checked(
    staff_client,
):
    customers = [{"phone": "1"}] * 10_001

    response = staff_client.post(
        reverse("users:import-confirm"), {"customers": customers}, format="json"
    )

    assert_error(response, status.HTTP_400_BAD_REQUEST, "too_many_rows")
    assert "10,000" in response.json()["message"]


def test_a_legacy_body_of_10000_customers_as_the_spa_sends_them_is_within_the_value_cap():
    customer = {
        "source_row_number": 10_000,
        "shipping_mark": "PM 1 KWAME",
        "first_name": "Kwame",
        "last_name": "Mensah",
        "email": None,
        "phone": "+233241234567",
        "region": "GREATER_ACCRA",
        "company_name": "",
        "nickname": "",
        "user_type": "REGULAR",
        "shipping_mark_generated": False,
    }
    text = json.dumps({"customers": [customer] * 10_000, "notify": False})

    data = parsers.loads(text, max_values=160_000)

    assert len(data["customers"]) == 10_000


def test_commas_and_brackets_inside_strings_are_not_counted_as_values(staff_client):
    # given one customer whose company name is 1,500 commas (over the 1,000 values a staff
    # body may hold, if they were counted)
    response = staff_client.post(
        reverse("users:customer-list"),
        {"first_name": "Ama", "last_name": "B", "phone": "0241234567", "company_name": "," * 1500},
        format="json",
    )

    # then the body is parsed, and its fields are checked as any other
    assert response.json().get("code") != "too_many_values"
    assert response.status_code in {status.HTTP_201_CREATED, status.HTTP_400_BAD_REQUEST}


@pytest.mark.parametrize(
    ("mapping", "code"),
    [
        ('{"phone": ' + "[" * 50_000 + "]" * 50_000 + "}", "too_many_values"),
        ('{"phone": ' + "[" * 40 + "]" * 40 + "}", "parse_error"),
    ],
)
def test_json_in_a_multipart_field_goes_through_the_bounded_parser(staff_client, mapping, code):
    # given an upload whose column_mapping nests lists (deep enough for json.loads to give up)
    content = builders.xlsx_bytes([["Phone", "First Name", "Last Name"], ["0241234567", "A", "B"]])
    form = {"file": SimpleUploadedFile("c.xlsx", content), "column_mapping": mapping}

    response = staff_client.post(reverse("users:import-upload"), form, format="multipart")

    # then the answer is the 400 a JSON body of that shape gets, not a 500
    assert_error(response, status.HTTP_400_BAD_REQUEST, code)


def test_a_flood_from_one_address_is_refused_before_its_body_is_read(monkeypatch):
    # given an address at its sign-up rate
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "signup", "1/hour")
    client = Client(REMOTE_ADDR="10.0.0.7")
    path = reverse("users:signup-with-shipping-mark")
    client.post(path, {"phone": "0241110000"}, content_type="application/json")

    # when it sends a body that does not even parse
    response = client.post(path, "{not json", content_type="application/json")

    # then the address's limit answers, without the per-phone limit parsing the body first
    assert_error(response, status.HTTP_429_TOO_MANY_REQUESTS, "throttled")


def test_the_exact_count_skips_strings_escaped_quotes_included():
    # given strings holding commas, brackets and an escaped quote before a comma
    raw = json.dumps(["a,b", 'c"d,[{', {"x": 1}]).encode()

    # then only the list, the two strings, the object and its one value are counted
    assert parsers.count_values_exactly(raw) == 5
    assert parsers.count_values(raw) > 5


def test_a_body_with_far_more_commas_than_its_cap_is_refused_without_the_exact_count():
    with pytest.raises(parsers.TooManyValues):
        parsers.loads(json.dumps(["," * 30]), max_values=10)


def test_a_sign_up_with_every_field_at_its_longest_escaped_is_within_the_limit(api_client):
    # given every field of a sign-up at its most characters, each beyond the BMP, escaped as
    # Python's json (and most clients) write them: 12 bytes a character
    wide = "\U0001f600"
    longest = {
        **dict.fromkeys(("first_name", "last_name", "region", "email"), wide * 254),
        **{"company_name": wide * 254, "nickname": wide * 254, "shipping_mark": wide * 200},
        **{"phone": wide * 64, "user_type": wide * 32},
        **{"password": wide * 256, "confirm_password": wide * 256},
    }
    body = json.dumps(longest)

    response = api_client.post(
        reverse("users:signup-with-shipping-mark"), body, content_type="application/json"
    )

    # then its fields are checked (not a 413)
    assert len(body) > 16 * 1024
    assert response.status_code == status.HTTP_400_BAD_REQUEST
