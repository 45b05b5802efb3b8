"""The OpenAPI schema, Swagger UI and ReDoc: staff only, served from the project's own static
files (no CDN)."""

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from rest_framework import status

from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

SCHEMA = "/api/schema/"
PAGES = ["/api/docs/", "/api/redoc/"]


@pytest.fixture
def staff_browser() -> Client:
    """Staff signed in to the admin: the docs pages are opened in a browser with that session."""
    client = Client()
    client.force_login(StaffFactory())
    return client


def test_an_anonymous_caller_cannot_read_the_schema(api_client):
    response = api_client.get(SCHEMA)

    assert response.status_code == status.HTTP_401_UNAUTHORIZED
    assert response.json()["code"] == "not_authenticated"


def test_a_customer_cannot_read_the_schema(customer_client):
    response = customer_client.get(SCHEMA)

    assert response.status_code == status.HTTP_403_FORBIDDEN
    assert response.json()["code"] == "permission_denied"


def test_staff_read_the_schema_with_their_access_token(staff_client):
    response = staff_client.get(SCHEMA, HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == status.HTTP_200_OK
    assert "/api/auth/login/" in response.json()["paths"]


@pytest.mark.parametrize("page", PAGES)
def test_an_anonymous_caller_cannot_open_the_docs(api_client, page):
    response = api_client.get(page)

    assert response.status_code == status.HTTP_401_UNAUTHORIZED
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize("page", PAGES)
def test_a_customer_cannot_open_the_docs(customer_client, page):
    assert customer_client.get(page).status_code == status.HTTP_403_FORBIDDEN


@pytest.mark.parametrize("page", PAGES)
def test_the_docs_load_their_scripts_from_the_projects_static_files(staff_browser, page):
    response = staff_browser.get(page)

    assert response.status_code == status.HTTP_200_OK
    html = response.content.decode()
    scripts = [part.split('"', 1)[0] for part in html.split('src="')[1:]]
    assert scripts
    for script in scripts:
        assert script.startswith("/static/drf_spectacular_sidecar/"), script
        assert finders.find(script.removeprefix("/static/")), script
    assert "cdn.jsdelivr" not in html
    assert "unpkg" not in html
