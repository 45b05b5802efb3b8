"""One visibility rule for every read: a super admin (role SUPER_ADMIN, or Django's superuser
flag on any role) is seen by super admins only. Not in the lists and one user only, but in the
export, a preview's clashes, its ambiguous matches, a creator and the Django admin too."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from rest_framework import status

from tests.conftest import bearer_client
from tests.excel import builders
from tests.factories import CustomerFactory, StaffFactory
from users.customers import services
from users.models import Role

pytestmark = pytest.mark.django_db

EXPORT = reverse("users:customer-export")
UPLOAD = reverse("users:import-upload")
CUSTOMERS = reverse("users:customer-list")
HEADER = ["Shipping Mark", "First Name", "Last Name", "Email", "Phone Number"]


@pytest.fixture
def hidden():
    """A superuser left with the customer role: what admins and managers must not see."""
    return CustomerFactory(
        phone="+233209990001",
        email="root@example.com",
        shipping_mark="PM ROOT",
        first_name="Rooted",
        last_name="Account",
        is_superuser=True,
    )


@pytest.fixture
def boss():
    return StaffFactory(user_role=Role.SUPER_ADMIN, is_superuser=True)


def upload(client, *rows, **options):
    content = builders.xlsx_bytes([HEADER, *rows])
    body = {"file": SimpleUploadedFile("customers.xlsx", content), **options}
    return client.post(UPLOAD, body, format="multipart").json()


def test_the_export_with_a_search_leaves_out_what_the_list_hides(staff_client, boss, hidden):
    # Given an admin and a super admin searching the export for the hidden account's phone
    params = {"format": "csv", "search": "0209990001"}

    # When each exports
    seen_by_admin = b"".join(staff_client.get(EXPORT, params).streaming_content).decode()
    seen_by_boss = b"".join(bearer_client(boss).get(EXPORT, params).streaming_content).decode()

    # Then only the super admin gets the row, as only they see it in the list
    assert "PM ROOT" not in seen_by_admin
    assert "PM ROOT" in seen_by_boss
    assert staff_client.get(CUSTOMERS, {"search": "0209990001"}).json()["count"] == 0


def test_a_previews_clash_does_not_name_a_hidden_account(staff_client, boss, hidden):
    row = ["PM NEW", "Ama", "Owusu", "", "0209990001"]

    by_admin = upload(staff_client, row)
    by_boss = upload(bearer_client(boss), row)

    # The row is a duplicate for both: the phone is taken.
    assert by_admin["summary"]["existing_duplicates"] == 1
    [entry] = by_admin["duplicate_results"]["existing_duplicates"]
    assert entry["existing_customers"] == []
    assert "Rooted" not in str(by_admin)
    assert "root@example.com" not in str(by_admin)
    [entry] = by_boss["duplicate_results"]["existing_duplicates"]
    assert [c["shipping_mark"] for c in entry["existing_customers"]] == ["PM ROOT"]


def test_a_preview_page_does_not_name_a_hidden_account(staff_client, hidden):
    body = upload(staff_client, ["PM NEW", "Ama", "Owusu", "", "0209990001"])

    page = staff_client.get(
        reverse("users:import-preview-page", args=[body["upload_id"]]), {"list": "existing"}
    ).json()

    assert page["results"][0]["existing_customers"] == []


def test_an_ambiguous_match_does_not_name_a_hidden_account(staff_client, hidden):
    customer = CustomerFactory(phone="+233241234567", email="kwame@example.com")

    body = upload(
        staff_client, ["", "Kwame", "Mensah", "root@example.com", "0241234567"], mode="update"
    )

    [error] = [e for e in body["errors"] if e["row"] == 2]
    assert error["code"] == "ambiguous_match"
    assert f"#{customer.pk}" in error["message"]
    assert f"#{hidden.pk}" not in error["message"]
    assert "another account" in error["message"]


def test_a_creator_hidden_from_the_caller_is_shown_as_null(staff_client, boss):
    created = services.user_create_by(
        actor=boss,
        data={"phone": "0241234567", "first_name": "Ama", "last_name": "Owusu"},
    )
    detail = reverse("users:customer-detail", args=[created.pk])

    listed = staff_client.get(CUSTOMERS).json()["results"]
    one = staff_client.get(detail).json()
    by_creator = staff_client.get(CUSTOMERS, {"created_by": boss.pk}).json()

    assert [row["created_by"] for row in listed if row["id"] == created.pk] == [None]
    assert one["created_by"] is None
    assert by_creator["count"] == 0
    assert bearer_client(boss).get(detail).json()["created_by"] == boss.pk
    assert bearer_client(boss).get(CUSTOMERS, {"created_by": boss.pk}).json()["count"] == 1


def test_the_django_admins_customer_list_hides_what_the_api_hides(staff, boss, hidden):
    web = Client()
    web.force_login(staff)
    created = services.user_create_by(
        actor=boss, data={"phone": "0241234567", "first_name": "Ama", "last_name": "Owusu"}
    )
    services.user_update_by(actor=boss, user=created, data={"last_name": "Mensah"})

    page = web.get(reverse("admin:users_customer_changelist")).content.decode()
    one = web.get(reverse("admin:users_customer_change", args=[created.pk])).content.decode()

    assert "PM ROOT" not in page
    assert boss.get_full_name() not in page
    assert boss.get_full_name() not in one
    hidden_page = web.get(reverse("admin:users_customer_change", args=[hidden.pk]))
    assert hidden_page.status_code in (status.HTTP_302_FOUND, status.HTTP_404_NOT_FOUND)


def test_the_upload_stats_count_only_the_customers_the_caller_sees(staff_client, boss, hidden):
    CustomerFactory()
    stats = reverse("users:customer-stats")

    by_admin = staff_client.get(stats).json()
    by_boss = bearer_client(boss).get(stats).json()

    assert (by_admin["total_customers"], by_boss["total_customers"]) == (1, 2)
    assert sum(r["count"] for r in by_admin["region_distribution"]) == 1


def test_a_changes_author_hidden_from_the_caller_is_shown_as_null(staff_client, boss):
    customer = CustomerFactory()
    services.user_update_by(actor=boss, user=customer, data={"last_name": "Mensah"})
    history = reverse("users:customer-history", args=[customer.pk])

    by_admin = staff_client.get(history).json()["results"]
    by_boss = bearer_client(boss).get(history).json()["results"]

    assert [change["changed_by"] for change in by_admin] == [None]
    assert [change["changed_by"] for change in by_boss] == [boss.pk]


def test_who_undid_an_import_is_named_only_to_those_who_may_see_them(
    staff, staff_client, boss, django_capture_on_commit_callbacks
):
    # Given an admin's import that a super admin undid
    body = upload(staff_client, ["PM NEW", "Ama", "Owusu", "", "0241234567"])
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(
            reverse("users:import-confirm"), {"upload_id": body["upload_id"]}, format="json"
        )
    with django_capture_on_commit_callbacks(execute=True):
        bearer_client(boss).post(reverse("users:import-undo", args=[body["upload_id"]]))

    # When the admin reads its status and its undo
    status_url = reverse("users:import-status", args=[body["upload_id"]])
    answer = staff_client.get(status_url).json()
    undo = staff_client.get(reverse("users:import-undo", args=[body["upload_id"]])).json()

    # Then the super admin is named to nobody but super admins
    assert answer["undo"]["status"] == "COMPLETE"
    assert answer["undone_by"] is None
    assert answer["undo"]["requested_by"] is None
    assert undo["undo"]["requested_by"] is None
    assert bearer_client(boss).get(status_url).json()["undone_by"] == boss.pk
    web = Client()
    web.force_login(staff)
    page = web.get(reverse("admin:users_importjob_change", args=[body["upload_id"]]))
    assert page.status_code == status.HTTP_200_OK
    assert boss.get_full_name() not in page.content.decode()
    assert boss.shipping_mark not in page.content.decode()
