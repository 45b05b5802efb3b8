"""Fixing a row of a preview where it stands: PATCH .../upload/{id}/rows/{row}/."""

import pytest
from django.urls import reverse

from tests.imports.helpers import customer_record, phone, preview

pytestmark = pytest.mark.django_db


def fix(client, job, row, body):
    return client.patch(reverse("users:import-row", args=[job.pk, row]), body, format="json")


def test_smoke(staff, staff_client):
    job = preview(staff, [customer_record(1), customer_record(2, phone="12")])
    response = fix(staff_client, job, 3, {"phone": phone(2)})
    print(response.json())
    assert response.status_code == 200
