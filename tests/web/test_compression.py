"""Large JSON answers go out gzipped to a client that accepts it; the answers that carry a
secret (login and token refresh: the tokens) never do, whatever the client accepts (BREACH)."""

import gzip
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from tests.excel import builders
from tests.factories import CustomerFactory, StaffFactory
from tests.imports.helpers import customer_record

pytestmark = pytest.mark.django_db

GZIP = {"HTTP_ACCEPT_ENCODING": "gzip, deflate, br"}
PASSWORD = "staff-password-1"


def preview_file(rows: int) -> bytes:
    records = [customer_record(n) for n in range(rows)]
    return builders.xlsx_bytes([list(records[0]), *[list(r.values()) for r in records]])


def upload(client, **extra):
    content = preview_file(300)
    return client.post(
        reverse("users:import-upload"),
        {"file": SimpleUploadedFile("customers.xlsx", content)},
        format="multipart",
        **extra,
    )


def test_a_preview_goes_out_gzipped_to_a_client_that_accepts_it(staff_client):
    plain = upload(staff_client).json()

    response = upload(staff_client, **GZIP)

    assert response["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response["Vary"]
    body = json.loads(gzip.decompress(response.content))
    assert body["summary"] == plain["summary"]
    assert len(body["duplicate_results"]["unique_candidates"]) == 300
    assert len(response.content) * 5 < len(json.dumps(body))


def test_a_client_that_does_not_accept_gzip_gets_plain_json(staff_client):
    response = upload(staff_client)

    assert not response.has_header("Content-Encoding")
    assert response.json()["summary"]["to_create"] == 300


def test_the_customer_list_is_compressed_too(staff_client):
    CustomerFactory.create_batch(30)

    listed = staff_client.get(reverse("users:customer-list"), {"page_size": 50}, **GZIP)

    assert listed["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(listed.content))["count"] == 30


def test_login_and_token_answers_are_never_compressed():
    StaffFactory(phone="+233241234567")
    client = APIClient()

    login = client.post(
        reverse("users:login"), {"phone": "0241234567", "password": PASSWORD}, format="json", **GZIP
    )
    refresh = client.post(
        reverse("users:token-refresh"),
        {"refresh": login.json()["tokens"]["refresh"]},
        format="json",
        **GZIP,
    )

    assert login.status_code == refresh.status_code == 200
    assert not login.has_header("Content-Encoding")
    assert not refresh.has_header("Content-Encoding")
    assert "access" in refresh.json()
