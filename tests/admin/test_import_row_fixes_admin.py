"""The admin's import preview: invalid rows with an input per field in error and its message,
a skip box, "Save fixes" posted without JavaScript, the row's history, and confirm after."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from tests.excel import builders
from users.models import ImportJob, User

pytestmark = pytest.mark.django_db

IMPORT = reverse("admin:users_customer_import")
HEADER = ["Shipping Mark", "First Name", "Last Name", "Email", "Phone Number"]
ROWS = [
    ["PM GOLD", "Kwame", "Mensah", "kwame@example.com", "0241000001"],
    ["PM SILVER", "Ama", "Owusu", "ama@example.com", "12345"],
    ["PM IRON", "Kofi", "Boateng", "not-an-email", "0241000003"],
]


@pytest.fixture
def web(staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


def text(response) -> str:
    return response.content.decode()


def uploaded(web) -> ImportJob:
    content = builders.xlsx_bytes([HEADER, *ROWS])
    web.post(IMPORT, {"file": SimpleUploadedFile("c.xlsx", content)})
    return ImportJob.objects.get()


def page(web, job):
    return web.get(reverse("admin:users_customer_import_job", args=[job.pk]))


def save(web, job, data):
    return web.post(reverse("admin:users_customer_import_fix", args=[job.pk]), data, follow=True)


def test_an_invalid_row_shows_an_input_for_the_field_in_error_with_its_message(web):
    job = uploaded(web)

    html = text(page(web, job))

    assert 'name="fix-3-phone" id="fix-3-phone" value="12345"' in html
    assert 'id="fix-error-3-phone">' in html
    assert 'name="fix-4-email"' in html
    assert 'name="fix-3-email"' not in html
    assert 'name="skip-3"' in html
    assert 'value="Save fixes"' in html


def test_save_fixes_without_javascript_fixes_the_row_and_redraws_the_preview(web):
    job = uploaded(web)

    response = save(
        web,
        job,
        {"rows": "3,4", "fix-3-phone": "0241000002", "fix-4-email": "not-an-email"},
    )

    html = text(response)
    assert "Row 3 is now to create." in html
    assert "Row 4 is now" not in html  # unchanged: not sent
    assert 'id="summary-to-create">2<' in html
    assert 'name="fix-3-phone"' not in html
    job.refresh_from_db()
    assert job.to_create_count == 2
    assert list(job.row_fixes.values_list("row", "field", "old", "new")) == [
        (3, "phone", "12345", "0241000002")
    ]


def test_a_fix_still_wrong_shows_its_new_message_and_the_history(web):
    job = uploaded(web)

    html = text(save(web, job, {"rows": "3", "fix-3-phone": "0241"}))

    assert "Row 3 is now invalid." in html
    assert 'value="0241"' in html
    assert 'phone "12345" &rarr; "0241"' in html


def test_the_skip_box_skips_the_row_and_unticked_takes_it_back(web):
    job = uploaded(web)

    html = text(save(web, job, {"rows": "3,4", "skip-4": "on"}))
    assert 'id="summary-skipped">1<' in html
    assert 'name="skip-4" id="skip-4" checked' in html

    html = text(save(web, job, {"rows": "3,4"}))
    assert 'id="summary-skipped">0<' in html
    assert "Row 4 is now invalid." in html


def test_confirm_after_fixing_creates_the_fixed_row(web, django_capture_on_commit_callbacks):
    job = uploaded(web)
    save(web, job, {"rows": "3,4", "fix-3-phone": "0241000002", "skip-4": "on"})

    with django_capture_on_commit_callbacks(execute=True):
        web.post(reverse("admin:users_customer_import_confirm", args=[job.pk]))

    assert sorted(User.objects.filter(import_job=job).values_list("phone", flat=True)) == [
        "+233241000001",
        "+233241000002",
    ]


def test_a_confirmed_upload_refuses_the_fixes_with_the_reason(
    web, django_capture_on_commit_callbacks
):
    job = uploaded(web)
    with django_capture_on_commit_callbacks(execute=True):
        web.post(reverse("admin:users_customer_import_confirm", args=[job.pk]))

    html = text(save(web, job, {"rows": "3", "fix-3-phone": "0241000002"}))

    assert "Row 3: This upload was already confirmed" in html
