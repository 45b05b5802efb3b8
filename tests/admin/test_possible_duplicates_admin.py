"""The admin's import page lists the possible duplicates: each row with whom it resembles (the
customer, linked, or the earlier row) and why, counted in the summary; confirming creates them."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from tests.excel import builders
from tests.factories import CustomerFactory
from users.models import ImportJob, User

pytestmark = pytest.mark.django_db

IMPORT = reverse("admin:users_customer_import")
HEADER = ["Shipping Mark", "First Name", "Last Name", "Email", "Phone Number", "Region"]


@pytest.fixture
def web(staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def previewed(web):
    """Kwame stored; a file of kwame with a digit of his phone mistyped, a new customer, and
    that customer again with names swapped and a digit apart: the job and its page."""
    kwame = CustomerFactory(
        first_name="Kwame", last_name="Mensah", phone="+233241234567", shipping_mark="PM KWAME 1"
    )
    rows = [
        ["", "Kwame", "Mensah", "", "0241234568", "Ashanti"],
        ["", "Ama", "Owusu", "", "0551234567", "Volta"],
        ["", "Owusu", "Ama", "", "0551234568", "Volta"],
    ]
    content = builders.xlsx_bytes([HEADER, *rows])
    response = web.post(IMPORT, {"file": SimpleUploadedFile("customers.xlsx", content)})
    return kwame, ImportJob.objects.get(), web.get(response["Location"])


def test_the_import_page_lists_the_possible_duplicates_with_whom_they_resemble(previewed):
    kwame, _, response = previewed

    page = response.content.decode()
    assert '<td id="summary-to-create">3</td>' in page
    assert '<td id="summary-possible-duplicates">2</td>' in page
    assert 'id="import-possible-duplicates"' in page
    customer_link = reverse("admin:users_customer_change", args=[kwame.pk])
    assert f'<a href="{customer_link}">#{kwame.pk}</a> PM KWAME 1, Kwame Mensah' in page
    assert f"Same names; the phone differs by one digit from customer #{kwame.pk}&#x27;s." in page
    assert "<td>row 3</td>" in page
    assert "First and last names swapped; the phone differs by one digit from row 3&#x27;s." in page


def test_confirming_on_the_import_page_creates_the_possible_duplicates(
    previewed, web, django_capture_on_commit_callbacks
):
    _, job, _ = previewed

    with django_capture_on_commit_callbacks(execute=True):
        web.post(reverse("admin:users_customer_import_confirm", args=[job.pk]))

    job.refresh_from_db()
    assert job.created_count == 3
    assert User.objects.filter(import_job=job, phone="+233241234568").exists()
