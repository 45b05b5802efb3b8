"""GET /api/health/: the platform's checker learns whether the process serves and its database
answers; the rest (queue, memory, version) is for staff, who send their access token."""

import pytest
from django.db import DatabaseError, connection
from rest_framework import status

from tests.conftest import bearer_client
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

HEALTH = "/api/health/"
STAFF_FIELDS = {"status", "service", "database", "tasks", "memory_mb", "version"}


def test_an_anonymous_caller_gets_the_status_and_the_database_only(api_client):
    response = api_client.get(HEALTH)

    assert response.status_code == status.HTTP_200_OK
    assert response.json() == {"status": "ok", "database": "ok"}


def test_staff_with_an_access_token_get_the_queue_memory_and_version(staff_client):
    response = staff_client.get(HEALTH)

    assert response.status_code == status.HTTP_200_OK
    body = response.json()
    assert set(body) == STAFF_FIELDS
    assert {"pending", "running", "oldest_heartbeat"} <= set(body["tasks"])
    assert body["memory_mb"] > 0


def test_a_customers_token_gets_what_an_anonymous_caller_gets(customer_client):
    response = customer_client.get(HEALTH)

    assert response.json() == {"status": "ok", "database": "ok"}


def test_an_invalid_token_is_answered_as_anonymous_never_401(api_client):
    # The checker must never fail for a header it did not mean to send.
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")

    response = api_client.get(HEALTH)

    assert response.status_code == status.HTTP_200_OK
    assert response.json() == {"status": "ok", "database": "ok"}


def test_an_inactive_staff_members_token_gets_the_anonymous_answer():
    client = bearer_client(StaffFactory(is_active=False))

    assert client.get(HEALTH).json() == {"status": "ok", "database": "ok"}


def test_with_the_database_down_staff_get_a_503_and_no_error(staff_client, monkeypatch):
    def broken_cursor(*args, **kwargs):
        raise DatabaseError("connection refused")

    monkeypatch.setattr(connection, "cursor", broken_cursor)

    response = staff_client.get(HEALTH)

    assert response.status_code == status.HTTP_503_SERVICE_UNAVAILABLE
    assert response.json() == {"status": "unavailable", "database": "down"}


def test_the_answer_varies_with_the_authorization_header(api_client):
    response = api_client.get(HEALTH)

    assert "Authorization" in response["Vary"]
    assert "no-cache" in response["Cache-Control"]
