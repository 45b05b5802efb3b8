"""The admin's side of remembered column mappings: the import page remembers the columns its
selects chose and says when a file was read with a remembered choice, and the Django admin lists
the remembered mappings and forgets them."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from tests.excel import builders
from tests.factories import StaffFactory
from tests.imports.helpers import TILL_CHOICES, TILL_HEADER, till_rows
from users.models import ImportJob, RememberedMapping, Role

pytestmark = pytest.mark.django_db

IMPORT = reverse("admin:users_customer_import")
LIST = reverse("admin:users_rememberedmapping_changelist")
# The upload page's optional columns, as the admin types them.
TILL_FORM = {f"map-{name}": header for name, header in TILL_CHOICES.items()}


def till_xlsx(first: int) -> bytes:
    return builders.xlsx_bytes([TILL_HEADER, *till_rows(first)])


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def web(staff) -> Client:
    return signed_in(staff)


def text(response) -> str:
    return response.content.decode()


def upload(client: Client, first: int, **form) -> ImportJob:
    response = client.post(
        IMPORT, {"file": SimpleUploadedFile("till.xlsx", till_xlsx(first)), **form}
    )
    assert response.status_code == 302, text(response)
    return ImportJob.objects.order_by("-created_at").first()


@pytest.fixture
def confirm(django_capture_on_commit_callbacks):
    def confirm(client: Client, job: ImportJob) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            client.post(reverse("admin:users_customer_import_confirm", args=[job.pk]))

    return confirm


@pytest.fixture
def remembered(web, confirm) -> RememberedMapping:
    confirm(web, upload(web, 0, **TILL_FORM))
    return RememberedMapping.objects.get()


def preview(client: Client, job: ImportJob) -> str:
    return text(client.get(reverse("admin:users_customer_import_job", args=[job.pk])))


def test_columns_typed_on_the_upload_page_are_remembered_once_confirmed(staff, remembered):
    assert remembered.choices == {
        "shipping_mark": "Cust Ref",
        "first_name": "Fore",
        "last_name": "Fam",
        "phone": "Cellphone #",
    }
    assert remembered.chosen_by == staff


def test_the_preview_of_the_next_file_says_whose_choice_read_it(staff, web, remembered):
    page = preview(web, upload(web, 10))

    assert 'id="import-remembered"' in page
    assert f"Columns read as {staff.get_full_name()} chose them on" in page
    assert 'id="remembered-phone"' in page
    assert 'id="remembered-region"' not in page
    assert "Confirm: create 2 customers" in page


def test_changing_one_select_keeps_the_remembered_columns(web, remembered, confirm):
    job = upload(web, 20)
    page = reverse("admin:users_customer_import_job", args=[job.pk])

    web.post(
        reverse("admin:users_customer_import_remap", args=[job.pk]),
        {
            "map-shipping_mark": "A",
            "map-first_name": "B",
            "map-last_name": "C",
            "map-phone": "D",
            "map-region": "F",
        },
    )

    job.refresh_from_db()
    assert job.column_mapping["fields"]["phone"] == "Cellphone #"
    assert job.column_mapping["fields"]["region"] == "Town"
    assert "Confirm: create 2 customers" in text(web.get(page))
    confirm(web, job)
    assert RememberedMapping.objects.get().choices["region"] == "Town"


def test_the_django_admin_lists_remembered_mappings(staff, web, remembered):
    page = text(web.get(LIST))

    assert "Cust Ref, Fore, Fam, Cellphone #, Other Cell, Town" in page
    assert "phone &larr; Cellphone #" in page
    assert staff.get_full_name() in page


def test_the_django_admin_names_a_super_admin_chooser_only_to_super_admins(web, confirm):
    boss = StaffFactory(user_role=Role.SUPER_ADMIN)
    boss_web = signed_in(boss)
    confirm(boss_web, upload(boss_web, 30, **TILL_FORM))

    assert boss.get_full_name() not in text(web.get(LIST))
    assert boss.get_full_name() in text(boss_web.get(LIST))


def test_staff_forget_a_mapping_in_the_django_admin(web, remembered):
    delete = reverse("admin:users_rememberedmapping_delete", args=[remembered.pk])
    assert web.get(delete).status_code == 200

    response = web.post(delete, {"post": "yes"})

    assert response.status_code == 302
    assert not RememberedMapping.objects.exists()
    assert 'id="import-remembered"' not in preview(web, upload(web, 40, **TILL_FORM))


def test_staff_forget_mappings_with_the_list_action(web, remembered):
    response = web.post(
        LIST,
        {"action": "delete_selected", "_selected_action": [remembered.pk], "post": "yes"},
    )

    assert response.status_code == 302
    assert not RememberedMapping.objects.exists()


def test_nobody_adds_or_edits_a_remembered_mapping_in_the_django_admin(web, remembered):
    assert web.get(reverse("admin:users_rememberedmapping_add")).status_code == 403
    change = reverse("admin:users_rememberedmapping_change", args=[remembered.pk])
    assert web.post(change, {"choices": "{}"}).status_code == 403
    assert RememberedMapping.objects.get().choices == remembered.choices
