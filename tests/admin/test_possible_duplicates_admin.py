"""The admin's import page lists the possible duplicates: each row with whom it resembles (the
customer, linked, or the earlier row) and why, counted in the summary; confirming creates them;
each one, or all at once, can be created anyway, made an update of its customer, or skipped,
by forms that post to the page (no JavaScript), and the page says what each row is now."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from tests.excel import builders
from tests.factories import CustomerFactory, StaffFactory
from users.models import ImportJob, Role, User

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


def choose(web, job, data):
    return web.post(reverse("admin:users_customer_import_choose", args=[job.pk]), data, follow=True)


def test_each_possible_duplicate_offers_its_choices_and_the_page_offers_them_for_all(previewed):
    kwame, job, response = previewed

    page = response.content.decode()
    choose_url = reverse("admin:users_customer_import_choose", args=[job.pk])
    assert f'action="{choose_url}" id="import-choose-all"' in page
    assert 'id="choose-create-2"' in page
    assert f'id="choose-update-2">Update customer #{kwame.pk}</button>' in page
    assert 'id="choose-skip-2"' in page
    # row 4 resembles row 3, not a customer: nothing to update
    assert 'id="choose-create-4"' in page
    assert 'id="choose-update-4"' not in page
    assert (
        '<td class="import-choice-state" id="choice-state-2">Not decided: created on confirm'
        in page
    )


def test_a_row_chosen_to_update_its_customer_says_so_and_shows_the_changes(
    previewed, web, django_capture_on_commit_callbacks
):
    kwame, job, _ = previewed

    response = choose(web, job, {"row": "2", "action": "update"})

    page = response.content.decode()
    assert "Row 2 is now to update." in page
    assert (
        f'id="choice-state-2">Update customer #{kwame.pk}: to update (phone, region)</td>' in page
    )
    assert '<td id="summary-to-update">1</td>' in page
    assert '<td id="summary-possible-duplicates">1</td>' in page
    assert 'value="Confirm: create 2, update 1"' in page
    assert 'id="import-changes"' in page
    # and confirming updates kwame rather than creating his look-alike
    with django_capture_on_commit_callbacks(execute=True):
        web.post(reverse("admin:users_customer_import_confirm", args=[job.pk]))
    kwame.refresh_from_db()
    assert (kwame.phone, kwame.region) == ("+233241234568", "ASHANTI")
    assert User.objects.filter(import_job=job).count() == 2


def test_create_anyway_and_skip_on_the_page(previewed, web):
    _, job, _ = previewed

    choose(web, job, {"row": "2", "action": "create"})
    page = choose(web, job, {"row": "4", "action": "skip"}).content.decode()

    assert 'id="choice-state-2">Create anyway</td>' in page
    assert 'id="choice-state-4">Skipped</td>' in page
    assert '<td id="summary-possible-duplicates">0</td>' in page
    assert '<td id="summary-skipped">1</td>' in page


def test_a_choice_for_all_on_the_page(previewed, web):
    _, job, _ = previewed

    page = choose(web, job, {"action": "update"}).content.decode()

    assert (
        "1 possible duplicate chosen to update the customer each resembles; 1 left as it was."
        in (page.replace("&#x27;", "'"))
    )
    assert 'id="choice-state-4">Not decided: created on confirm' in page


def test_a_refused_choice_says_why(previewed, web):
    _, job, _ = previewed

    page = choose(web, job, {"row": "4", "action": "update"}).content.decode()

    assert "Row 4: Row 4 resembles an earlier row of the file, not a customer" in page


def test_a_super_admin_sees_the_choices_but_has_no_buttons(previewed):
    _, job, _ = previewed
    boss = Client()
    boss.force_login(StaffFactory(user_role=Role.SUPER_ADMIN))

    page = boss.get(reverse("admin:users_customer_import_job", args=[job.pk])).content.decode()

    assert 'id="choice-state-2"' in page
    assert 'id="choose-create-2"' not in page
    assert 'id="import-choose-all"' not in page
