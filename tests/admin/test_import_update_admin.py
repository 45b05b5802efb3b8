"""The admin's import page for updates and undo: the mode and match key, the per-field changes
in the preview, Undo on a finished import, and the history on the customer's and import's pages."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from tests.excel import builders
from tests.factories import CustomerFactory
from users.models import ImportJob, User

pytestmark = pytest.mark.django_db

IMPORT = reverse("admin:users_customer_import")


@pytest.fixture
def web(staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


def text(response) -> str:
    return response.content.decode()


def test_an_update_previews_its_changes_runs_and_is_undone(web, django_capture_on_commit_callbacks):
    kwame = CustomerFactory(phone="+233241234567", last_name="Mensah")
    page = web.get(IMPORT)
    assert 'name="mode"' in text(page)
    assert 'name="match"' in text(page)
    content = builders.xlsx_bytes([["Phone", "Last Name"], ["0241234567", "Asante"]])

    response = web.post(
        IMPORT, {"file": SimpleUploadedFile("u.xlsx", content), "mode": "update", "match": "phone"}
    )
    preview = web.get(response["Location"])

    assert 'id="import-changes"' in text(preview)
    assert "Mensah" in text(preview)
    assert "Asante" in text(preview)
    assert "Confirm: create 0, update 1" in text(preview)
    job = ImportJob.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        web.post(reverse("admin:users_customer_import_confirm", args=[job.pk]))
    kwame.refresh_from_db()
    assert kwame.last_name == "Asante"
    progress = web.get(reverse("admin:users_customer_import_job", args=[job.pk]))
    assert 'id="import-undo-button"' in text(progress)
    customer_page = web.get(reverse("admin:users_customer_change", args=[kwame.pk]))
    assert "Mensah &rarr; Asante" in text(customer_page)
    job_page = web.get(reverse("admin:users_importjob_change", args=[job.pk]))
    assert "Mensah &rarr; Asante" in text(job_page)

    with django_capture_on_commit_callbacks(execute=True):
        web.post(reverse("admin:users_customer_import_undo", args=[job.pk]))

    kwame.refresh_from_db()
    assert kwame.last_name == "Mensah"
    after = web.get(reverse("admin:users_customer_import_job", args=[job.pk]))
    assert 'id="import-undo"' in text(after)
    assert "restored 1 of 1" in text(after)
    assert User.objects.filter(pk=kwame.pk).exists()
