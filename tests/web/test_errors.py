import pytest
from django.db import DatabaseError
from django.test import Client
from rest_framework import status

from users.customers import selectors

pytestmark = pytest.mark.django_db


def test_an_unknown_api_path_is_a_json_404(api_client):
    response = api_client.get("/api/no/such/thing/")

    assert response.status_code == status.HTTP_404_NOT_FOUND
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "success": False,
        "code": "not_found",
        "message": "No such endpoint.",
        "detail": "No such endpoint.",
    }


def test_a_path_that_exists_with_a_trailing_slash_is_a_404_that_says_so(staff_client):
    path = "/api/auth/customers/excel/bulk-create/status/6f1c2a9e-0b1d-4c3e-9f2a-1b2c3d4e5f60"

    response = staff_client.get(path)

    assert response.status_code == status.HTTP_404_NOT_FOUND
    body = response.json()
    assert body["code"] == "not_found"
    assert body["message"] == f"No such endpoint. Did you mean {path}/ (with a trailing slash)?"
    assert body["detail"] == body["message"]


@pytest.mark.parametrize("path", ["/api/no/such/thing", "/api/auth/customers/1/nothing"])
def test_a_path_that_does_not_exist_with_a_slash_either_gets_no_hint(api_client, path):
    response = api_client.post(path)

    assert response.status_code == status.HTTP_404_NOT_FOUND
    assert response.json()["message"] == "No such endpoint."


def test_an_unexpected_error_is_a_json_500_without_a_traceback(staff_client, monkeypatch):
    def explode(**kwargs):
        raise RuntimeError("secret internals /srv/app.py line 12")

    monkeypatch.setattr(selectors, "user_list", explode)
    staff_client.raise_request_exception = False

    response = staff_client.get("/api/auth/customers/")

    assert response.status_code == status.HTTP_500_INTERNAL_SERVER_ERROR
    assert response.json() == {
        "success": False,
        "code": "server_error",
        "message": "Something went wrong on our side. Try again later.",
        "detail": "Something went wrong on our side. Try again later.",
    }
    assert b"secret internals" not in response.content
    assert b"Traceback" not in response.content


def test_health_is_503_when_the_database_is_down(api_client, monkeypatch):
    from django.db import connection

    def broken_cursor(*args, **kwargs):
        raise DatabaseError("connection refused")

    monkeypatch.setattr(connection, "cursor", broken_cursor)

    response = api_client.get("/api/health/")

    assert response.status_code == status.HTTP_503_SERVICE_UNAVAILABLE
    assert response.json()["database"] == "down"
    assert response.json()["status"] == "unavailable"


def test_the_openapi_schema_lists_the_endpoints(staff_client):
    response = staff_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == status.HTTP_200_OK
    paths = response.json()["paths"]
    assert "/api/auth/login/" in paths
    assert "/api/auth/customers/" in paths
    assert "/api/auth/customers/{user_id}/" in paths
    assert "/api/auth/admin/users/" in paths
    assert "/api/auth/admin/users/{user_id}/" in paths


def test_responses_carry_a_request_id(api_client):
    response = api_client.get("/api/health/", HTTP_X_REQUEST_ID="abc-123")

    assert response["X-Request-ID"] == "abc-123"


def test_health_answers_a_checker_that_uses_an_internal_host_over_http(api_client, settings):
    settings.ALLOWED_HOSTS = ["primepre.example.com"]
    settings.SECURE_SSL_REDIRECT = True

    response = api_client.get("/api/health/", HTTP_HOST="10.0.0.7:10000")

    assert response.status_code == status.HTTP_200_OK
    assert response.json()["status"] == "ok"


def test_other_paths_still_refuse_an_unknown_host(api_client, settings):
    settings.ALLOWED_HOSTS = ["primepre.example.com"]

    response = api_client.get("/api/auth/me/", HTTP_HOST="evil.example.com")

    assert response.status_code == status.HTTP_400_BAD_REQUEST


def test_the_schema_documents_the_paginated_list_and_nullable_links(staff_client):
    schema = staff_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    listing = schema["paths"]["/api/auth/customers/"]["get"]["responses"]["200"]
    ref = listing["content"]["application/json"]["schema"]["$ref"]
    paginated = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    customer = schema["components"]["schemas"]["User"]["properties"]
    assert {"count", "next", "previous", "results"} <= set(paginated["properties"])
    assert customer["created_by"]["nullable"] is True
    assert customer["import_job"]["nullable"] is True


def test_a_nul_in_a_login_identifier_is_a_400_not_a_500(api_client):
    response = api_client.post(
        "/api/auth/login/", {"email": "a\x00@example.com", "password": "x"}, format="json"
    )

    assert response.status_code == status.HTTP_400_BAD_REQUEST


def test_another_method_on_health_is_a_json_405(api_client):
    response = api_client.post("/api/health/")

    assert response.status_code == status.HTTP_405_METHOD_NOT_ALLOWED
    assert response.json()["code"] == "method_not_allowed"


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
@pytest.mark.parametrize("path", ["/api/no/such/thing/", "/api/auth/signup/step1/", "/api/auth/x"])
def test_an_unknown_api_path_is_a_json_404_for_every_method_csrf_or_not(method, path):
    client = Client(enforce_csrf_checks=True)

    response = client.generic(method, path, data="{}", content_type="application/json")

    assert response.status_code == status.HTTP_404_NOT_FOUND
    assert response["Content-Type"] == "application/json"
    if method != "HEAD":
        assert response.json()["code"] == "not_found"


def test_field_errors_come_with_a_sentence_in_detail(staff_client):
    response = staff_client.post(
        "/api/auth/customers/", {"first_name": "Kwame", "email": "nope"}, format="json"
    )

    body = response.json()
    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert body["message"] == "Some fields are not valid."
    assert body["detail"] == (
        "Last name: This field is required. Email: Not a valid email address. "
        "Phone: This field is required."
    )


def test_a_permission_error_carries_its_message_as_detail(customer_client):
    body = customer_client.get("/api/auth/admin/users/").json()

    assert body["code"] == "permission_denied"
    assert body["detail"] == body["message"] == "Only staff can do this."
