"""The OpenAPI schema says what the server does: what a request needs and may hold, and every
status it can be answered with. Each test reads the schema as a client generator would and
checks the server against it."""

import jsonschema
import pytest
from rest_framework import status
from rest_framework_simplejwt import serializers as jwt_serializers
from rest_framework_simplejwt import settings as jwt_settings

from tests.factories import CustomerFactory, StaffFactory
from users.models import Role

pytestmark = pytest.mark.django_db

CUSTOMERS = "/api/auth/customers/"
BULK = "/api/auth/customers/excel/bulk-create/"
KWAME = {"phone": "0241234567", "first_name": "Kwame", "last_name": "Mensah"}


@pytest.fixture
def schema(staff_client) -> dict:
    response = staff_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == status.HTTP_200_OK
    return response.json()


def component(schema: dict, operation: dict, *, status_code: str | None = None) -> dict:
    """The component schema of an operation's JSON request body (or of one of its answers)."""
    holder = operation["responses"][status_code] if status_code else operation["requestBody"]
    ref = holder["content"]["application/json"]["schema"]["$ref"]
    return schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]


def request_schema(schema: dict, path: str, method: str) -> dict:
    return component(schema, schema["paths"][path][method])


def validator(schema: dict, part: dict) -> jsonschema.Draft7Validator:
    """A validator of `part` that resolves the document's $refs (OpenAPI 3.0 nullable aside)."""
    document = {**part, "components": schema["components"]}
    return jsonschema.Draft7Validator(document)


def field_codes(response) -> dict[str, list[str]]:
    return {
        field: [item["code"] for item in items]
        for field, items in response.json()["errors"].items()
    }


# --- customer input ---------------------------------------------------------------------------


def test_a_create_documents_the_required_fields_and_the_real_lengths(schema):
    create = request_schema(schema, CUSTOMERS, "post")
    fields = create["properties"]

    assert {"phone", "first_name", "last_name"} <= set(create["required"])
    assert fields["first_name"]["maxLength"] == 50
    assert fields["last_name"]["maxLength"] == 50
    assert fields["nickname"]["maxLength"] == 50
    assert fields["company_name"]["maxLength"] == 100
    assert fields["email"]["anyOf"][0] == {"type": "string", "format": "email", "maxLength": 254}
    assert fields["first_name"]["minLength"] == 1
    assert "nullable" not in fields["first_name"]


def test_no_request_field_claims_the_old_10000_character_limit(schema):
    limits = [
        (name, field_name)
        for name, body in schema["components"]["schemas"].items()
        for field_name, field in body.get("properties", {}).items()
        if field.get("maxLength") == 10_000
        or any(option.get("maxLength") == 10_000 for option in field.get("oneOf", []))
    ]

    assert limits == []


def test_an_edit_needs_the_mark_and_documents_its_pattern_and_length(schema):
    put = request_schema(schema, "/api/auth/customers/{user_id}/", "put")
    mark = put["properties"]["shipping_mark"]

    assert {"phone", "first_name", "last_name", "shipping_mark"} <= set(put["required"])
    assert mark["maxLength"] == 100
    pattern = jsonschema.Draft7Validator({"type": "string", "pattern": mark["pattern"]})
    assert pattern.is_valid("pm Gold 7")
    assert pattern.is_valid("PM 1 (A)")
    assert not pattern.is_valid("=HYPERLINK(1)")
    assert not pattern.is_valid("A")
    assert not pattern.is_valid("   ")


def test_the_documented_limits_are_the_servers(staff_client):
    # given values one over each documented limit, and a mark against its pattern
    too_long = {**KWAME, "first_name": "K" * 51, "company_name": "C" * 101}

    long_answer = staff_client.post(CUSTOMERS, too_long, format="json")
    mark_answer = staff_client.post(CUSTOMERS, {**KWAME, "shipping_mark": "#PM"}, format="json")
    missing = staff_client.post(CUSTOMERS, {"first_name": "Kwame"}, format="json")

    assert field_codes(long_answer) == {"first_name": ["too_long"], "company_name": ["too_long"]}
    assert field_codes(mark_answer) == {"shipping_mark": ["invalid_shipping_mark"]}
    assert field_codes(missing) == {"last_name": ["required"], "phone": ["required"]}


def test_a_create_as_the_spa_sends_it_matches_the_schema(schema, staff_client):
    # given the SPA's New Client body (SPA-CONTRACT.md 4.3), which the server accepts
    body = {
        **KWAME,
        "company_name": "",
        "email": "",
        "region": "GREATER_ACCRA",
        "shipping_mark": "pm Gold 7",
        "user_role": "CUSTOMER",
        "user_type": "INDIVIDUAL",
        "accessible_warehouses": [],
        "password": "PrimeMade1",
        "confirm_password": "PrimeMade1",
    }

    errors = list(validator(schema, request_schema(schema, CUSTOMERS, "post")).iter_errors(body))
    response = staff_client.post(CUSTOMERS, body, format="json")

    assert errors == []
    assert response.status_code == status.HTTP_201_CREATED


@pytest.mark.parametrize(
    ("field", "value"),
    [("first_name", {"a": 1}), ("phone", 241234567), ("last_name", ["Mensah"])],
)
def test_a_customer_field_that_is_not_text_is_refused(staff_client, field, value):
    response = staff_client.post(CUSTOMERS, {**KWAME, field: value}, format="json")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert field_codes(response) == {field: ["invalid"]}


def test_a_flag_that_is_not_a_json_boolean_is_refused(staff_client):
    response = staff_client.post(CUSTOMERS, {**KWAME, "is_verified": "yes"}, format="json")

    assert field_codes(response) == {"is_verified": ["invalid"]}


# --- login and bulk create: one of several fields ----------------------------------------------


def test_login_documents_that_one_of_phone_email_or_identifier_is_needed(schema):
    login = request_schema(schema, "/api/auth/login/", "post")
    check = validator(schema, login)

    assert [option["required"] for option in login["anyOf"]] == [
        ["phone"],
        ["email"],
        ["identifier"],
    ]
    assert check.is_valid({"phone": "0241234567", "password": "x"})
    assert check.is_valid({"email": "a@example.com", "password": "x"})
    assert not check.is_valid({"password": "x"})
    assert not check.is_valid({"phone": "", "email": None, "password": "x"})


def test_login_refuses_what_its_schema_refuses(api_client):
    response = api_client.post(
        "/api/auth/login/", {"phone": "", "email": None, "password": "x"}, format="json"
    )

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert field_codes(response) == {"phone": ["required"]}


def test_bulk_create_documents_that_an_upload_id_or_customers_is_needed(schema):
    bulk = request_schema(schema, BULK, "post")
    check = validator(schema, bulk)

    assert [option["required"] for option in bulk["anyOf"]] == [["upload_id"], ["customers"]]
    assert check.is_valid({"upload_id": "6f1c3a52-1b2a-4cde-9f00-000000000000"})
    ama = {"first_name": "Ama", "last_name": "Owusu", "phone": "", "source_row_number": 2}
    assert check.is_valid({"customers": [ama]})
    assert not check.is_valid({"customers": [{"first_name": "Ama"}]})
    assert not check.is_valid({"notify": True})
    assert not check.is_valid({"customers": []})
    assert not check.is_valid({"customers": [{"first_name": {"a": 1}}]})


def test_the_legacy_bulk_body_takes_customer_fields_as_text_only(staff_client):
    # given the legacy body with an object, a number and a list where text belongs
    body = {
        "customers": [
            {"first_name": {"a": 1}, "last_name": "Mensah", "phone": "0241234567"},
            {"first_name": "Ama", "last_name": ["Owusu"], "phone": 241234568},
        ]
    }

    response = staff_client.post(BULK, body, format="json")

    # then nothing is queued, and each wrong value is a field error with a code
    assert response.status_code == status.HTTP_400_BAD_REQUEST
    rows = response.json()["errors"]["customers"]
    not_text = [{"message": "Not a valid string.", "code": "invalid"}]
    assert rows == [
        {
            "0": [{"first_name": not_text}],
            "1": [{"last_name": not_text, "phone": not_text}],
        }
    ]
    assert not CustomerFactory._meta.model.objects.filter(first_name__contains="{").exists()


def test_a_legacy_customer_field_under_another_header_is_text_only_too(staff_client):
    body = {"customers": [{"Given Name": "Ama", "Surname": "Owusu", "Mobile": 241234568}]}

    response = staff_client.post(BULK, body, format="json")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json()["errors"]["customers"] == [
        {"0": [{"Mobile": [{"message": "Not a valid string.", "code": "invalid"}]}]}
    ]


def test_the_legacy_bulk_body_of_a_preview_sent_back_still_confirms(staff_client):
    # given a candidate as the preview shows it (numbers and booleans beside the text fields)
    body = {
        "customers": [
            {
                "source_row_number": 2,
                "shipping_mark": "PM 1 AMA",
                "shipping_mark_generated": True,
                "first_name": "Ama",
                "last_name": "Owusu",
                "email": None,
                "phone": "+233241234569",
                "region": "ASHANTI",
                "company_name": "",
                "nickname": "",
                "user_type": "INDIVIDUAL",
            }
        ]
    }

    response = staff_client.post(BULK, body, format="json")

    assert response.status_code == status.HTTP_202_ACCEPTED


# --- list filters --------------------------------------------------------------------------------


def test_created_by_is_documented_as_an_integer_user_id(schema):
    parameters = {p["name"]: p for p in schema["paths"][CUSTOMERS]["get"]["parameters"]}

    assert parameters["created_by"]["schema"]["type"] == "integer"
    assert parameters["created_by"]["schema"]["minimum"] == 1


@pytest.mark.parametrize("value", ["1.5", "abc", "1.0", "1e3", "-1", "0"])
def test_created_by_that_is_not_a_user_id_is_a_400(staff_client, value):
    admin = StaffFactory(user_role=Role.ADMIN)
    CustomerFactory(created_by=admin)

    response = staff_client.get(CUSTOMERS, {"created_by": value})

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert field_codes(response) == {"created_by": ["invalid_user_id"]}


def test_created_by_filters_by_the_user_id(staff_client):
    admin = StaffFactory(user_role=Role.ADMIN)
    CustomerFactory(created_by=admin)
    CustomerFactory()

    response = staff_client.get(CUSTOMERS, {"created_by": str(admin.pk)})

    assert response.json()["count"] == 1


def test_search_documents_its_length_and_that_a_nul_is_refused(schema, staff_client):
    parameters = {p["name"]: p for p in schema["paths"][CUSTOMERS]["get"]["parameters"]}
    search = jsonschema.Draft7Validator(parameters["search"]["schema"])

    refused = staff_client.get(CUSTOMERS, {"search": "Kwa\x00me"})

    assert search.is_valid("Kwame Mensah")
    assert not search.is_valid("Kwa\x00me")
    assert not search.is_valid("x" * 101)
    assert refused.status_code == status.HTTP_400_BAD_REQUEST


@pytest.mark.parametrize("value", ["null", "5", "maybe", "yes"])
def test_a_boolean_filter_that_is_not_true_or_false_is_a_400(staff_client, value):
    response = staff_client.get(CUSTOMERS, {"is_active": value})

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert field_codes(response) == {"is_active": ["invalid_boolean"]}


@pytest.mark.parametrize("value", ["false", "0", "1.5"])
def test_a_page_size_that_is_not_a_whole_number_from_1_is_a_400(staff_client, value):
    response = staff_client.get(CUSTOMERS, {"page_size": value})

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert field_codes(response) == {"page_size": ["invalid"]}


# --- token refresh -----------------------------------------------------------------------------


@pytest.mark.parametrize("rotate", [False, True])
def test_token_refresh_answers_what_its_schema_documents(
    schema, api_client, settings, monkeypatch, rotate
):
    # given a signed-in customer, with refresh rotation off (the default) and on
    CustomerFactory(phone="+233241230000", password="Customer-pass-7319", is_verified=True)
    login = api_client.post(
        "/api/auth/login/",
        {"phone": "0241230000", "password": "Customer-pass-7319"},
        format="json",
    )
    refresh = login.json()["tokens"]["refresh"]
    operation = schema["paths"]["/api/auth/token/refresh/"]["post"]
    documented = component(schema, operation, status_code="200")

    # simplejwt reads its settings once, when its serializers module is imported
    rotation = {"ROTATE_REFRESH_TOKENS": rotate, "BLACKLIST_AFTER_ROTATION": rotate}
    jwt = {**settings.SIMPLE_JWT, **rotation}
    running = jwt_settings.APISettings(jwt, jwt_settings.DEFAULTS, jwt_settings.IMPORT_STRINGS)
    monkeypatch.setattr(jwt_serializers, "api_settings", running)

    response = api_client.post("/api/auth/token/refresh/", {"refresh": refresh}, format="json")

    assert response.status_code == status.HTTP_200_OK
    assert validator(schema, documented).is_valid(response.json())
    assert set(response.json()) <= set(documented["properties"])
    assert set(response.json()) == ({"access", "refresh"} if rotate else {"access"})


# --- statuses any request can get ----------------------------------------------------------------


def test_every_operation_documents_405_406_413_and_414_and_415_where_it_reads_a_body(schema):
    missing = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            body = {"415"} if "requestBody" in operation else set()
            wanted = {"405", "406", "413", "414", *body}
            if not wanted <= set(operation["responses"]):
                missing.append((method, path, sorted(wanted - set(operation["responses"]))))

    assert missing == []


def test_the_414_is_documented_as_json_and_as_the_web_servers_own_html(schema):
    answer = schema["paths"][CUSTOMERS]["get"]["responses"]["414"]

    assert set(answer["content"]) == {"application/json", "text/html"}


def test_the_documented_statuses_are_answered_as_json_errors(staff_client):
    wrong_method = staff_client.put("/api/auth/customers/statistics/", {}, format="json")
    not_acceptable = staff_client.get(CUSTOMERS, HTTP_ACCEPT="text/html")
    wrong_type = staff_client.post(CUSTOMERS, "phone=1", content_type="text/plain")
    too_large = staff_client.post(
        "/api/auth/login/", '{"phone": "' + "1" * 3_000_000 + '"}', content_type="application/json"
    )
    too_long = staff_client.get(CUSTOMERS, {"search": "x" * 5000})

    assert (wrong_method.status_code, wrong_method.json()["code"]) == (405, "method_not_allowed")
    assert (not_acceptable.status_code, not_acceptable.json()["code"]) == (406, "not_acceptable")
    assert (wrong_type.status_code, wrong_type.json()["code"]) == (415, "unsupported_media_type")
    assert (too_large.status_code, too_large.json()["code"]) == (413, "request_too_large")
    assert (too_long.status_code, too_long.json()["code"]) == (414, "uri_too_long")
    assert too_long["Content-Type"] == "application/json"


def test_a_body_that_needs_a_field_is_a_required_body(schema, staff_client):
    operation = schema["paths"][BULK]["post"]

    response = staff_client.post(BULK)

    assert operation["requestBody"]["required"] is True
    assert response.status_code == status.HTTP_400_BAD_REQUEST


def test_a_blank_ordering_is_the_default_order_and_a_blank_filter_a_400(staff_client):
    CustomerFactory()

    ordered = staff_client.get(CUSTOMERS, {"ordering": ""})
    blank = staff_client.get(CUSTOMERS, {"region": "", "joined_before": ""})

    assert ordered.json()["count"] == 1
    assert field_codes(blank) == {"region": ["blank"], "joined_before": ["blank"]}
