"""Imports that update existing customers, through the API: every mode and match key, the
per-field changes in the preview, ambiguous matches, blank cells, clashes, the run's counts and
the change history."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook
from rest_framework import status

from tests.conftest import bearer_client
from tests.excel import builders
from tests.factories import CustomerFactory, StaffFactory
from users.models import CustomerChange, ImportJob, Role, User

pytestmark = pytest.mark.django_db

UPLOAD = reverse("users:import-upload")
CONFIRM = reverse("users:import-confirm")
HEADER = ["Shipping Mark", "First Name", "Last Name", "Email", "Phone Number", "Region"]


def status_url(job_id) -> str:
    return reverse("users:import-status", args=[job_id])


def xlsx(header, *rows) -> bytes:
    return builders.xlsx_bytes([header, *rows])


def upload(client, content: bytes, **options):
    body = {"file": SimpleUploadedFile("customers.xlsx", content), **options}
    return client.post(UPLOAD, body, format="multipart")


@pytest.fixture
def confirm(staff_client, django_capture_on_commit_callbacks):
    """Confirms an upload and runs its task as the worker would, after the commit."""

    def post(upload_id, client=None):
        with django_capture_on_commit_callbacks(execute=True):
            response = (client or staff_client).post(
                CONFIRM, {"upload_id": upload_id}, format="json"
            )
        assert response.status_code == status.HTTP_202_ACCEPTED, response.json()
        return response.json()

    return post


@pytest.fixture
def kwame(db):
    return CustomerFactory(
        phone="+233241234567",
        email="kwame@example.com",
        shipping_mark="PM GOLD",
        first_name="Kwame",
        last_name="Mensah",
        region="ASHANTI",
        company_name="Gold Ltd",
    )


def changes_of(body, row: int) -> dict:
    entry = next(e for e in body["update_results"]["to_update"] if e["source_row_number"] == row)
    return {c["field"]: (c["old"], c["new"]) for c in entry["changes"]}


def codes(body) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for error in body["errors"]:
        found.setdefault(error["row"], []).append(error["code"])
    return found


# --- without a mode, nothing changes for the SPA ---------------------------------------------


def test_without_a_mode_a_matching_row_is_an_existing_duplicate_as_before(staff_client, kwame):
    body = upload(
        staff_client,
        xlsx(HEADER, ["PM GOLD", "Kwame", "Owusu", "kwame@example.com", "0241234567", "Volta"]),
    ).json()

    assert body["mode"] == "create"
    assert body["summary"] == {
        "total_rows": 1,
        "invalid": 0,
        "existing_duplicates": 1,
        "batch_duplicates": 0,
        "to_create": 0,
        "possible_duplicates": 0,
    }
    assert codes(body)[2] == ["duplicate_existing"] * 3


def test_an_unknown_mode_or_match_key_is_400_with_the_choices(staff_client):
    response = upload(staff_client, xlsx(HEADER), mode="merge", match="name")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    body = response.json()
    assert body["code"] == "validation_error"
    assert "update_only" in body["errors"]["mode"][0]["message"]
    assert "shipping_mark" in body["errors"]["match"][0]["message"]


# --- update by each key ----------------------------------------------------------------------


def test_update_by_phone_previews_each_changed_field_and_runs_it(staff_client, confirm, kwame):
    content = xlsx(
        HEADER,
        # The same customer, phone written another way: last name and region change.
        ["pm gold", "Kwame", "Owusu", "KWAME@example.com", "+233 24 123 4567", "Volta"],
        # A new customer.
        ["PM SILVER", "Ama", "Boateng", "ama@example.com", "0551234567", "Volta"],
    )

    body = upload(staff_client, content, mode="update").json()

    assert body["summary"]["to_update"] == 1
    assert body["summary"]["to_create"] == 1
    assert body["summary"]["unchanged"] == 0
    assert changes_of(body, 2) == {
        "last_name": ("Mensah", "Owusu"),
        "region": ("ASHANTI", "VOLTA"),
    }
    entry = body["update_results"]["to_update"][0]
    assert entry["customer_id"] == kwame.pk
    kwame.refresh_from_db()
    assert kwame.last_name == "Mensah"  # the preview writes nothing

    confirm(body["upload_id"])

    kwame.refresh_from_db()
    assert (kwame.last_name, kwame.region, kwame.company_name) == ("Owusu", "VOLTA", "Gold Ltd")
    assert User.objects.filter(phone="+233551234567").exists()
    answer = staff_client.get(status_url(body["upload_id"])).json()
    assert (answer["status"], answer["created"], answer["updated"]) == ("COMPLETE", 1, 1)
    assert answer["failed"] == 0
    change = CustomerChange.objects.get(customer=kwame)
    assert str(change.import_job_id) == body["upload_id"]
    assert change.changed_by_id is not None
    assert change.fields == {
        "last_name": {"old": "Mensah", "new": "Owusu"},
        "region": {"old": "ASHANTI", "new": "VOLTA"},
    }


def test_update_by_email_ignores_case_and_may_change_the_phone(staff_client, confirm, kwame):
    content = xlsx(["Email", "Phone"], ["Kwame@Example.COM", "0201112222"])

    body = upload(staff_client, content, mode="update_only", match="email").json()

    assert changes_of(body, 2) == {"phone": ("+233241234567", "+233201112222")}
    confirm(body["upload_id"])
    kwame.refresh_from_db()
    assert kwame.phone == "+233201112222"


def test_update_by_shipping_mark_ignores_case_and_spacing(staff_client, confirm, kwame):
    content = xlsx(["Shipping Mark", "Company"], ["  pm   gold ", "Gold and Sons"])

    body = upload(staff_client, content, mode="update_only", match="shipping_mark").json()

    assert changes_of(body, 2) == {"company_name": ("Gold Ltd", "Gold and Sons")}
    confirm(body["upload_id"])
    kwame.refresh_from_db()
    assert kwame.company_name == "Gold and Sons"


def test_a_row_that_changes_nothing_is_unchanged_and_not_written(staff_client, confirm, kwame):
    content = xlsx(["Phone", "First Name"], ["0241234567", "Kwame"])

    body = upload(staff_client, content, mode="update").json()

    assert body["summary"]["unchanged"] == 1
    assert body["summary"]["to_update"] == 0
    answer = confirm(body["upload_id"])
    assert answer["status"] == "COMPLETE"  # nothing to write
    assert not CustomerChange.objects.exists()


def test_an_update_file_needs_only_the_match_key_column(staff_client):
    content = xlsx(["First Name", "Region"], ["Kwame", "Volta"])

    response = upload(staff_client, content, mode="update")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json()["code"] == "missing_columns"
    assert response.json()["errors"]["missing_columns"] == ["Phone Number"]


# --- modes: rows that match nothing ----------------------------------------------------------


def test_update_creates_rows_that_match_nothing_if_they_are_complete(staff_client, kwame):
    content = xlsx(
        ["Phone", "First Name", "Last Name"],
        ["0551234567", "Ama", "Boateng"],
        ["0201234567", "Yaw", ""],  # would be created, and has no last name
    )

    body = upload(staff_client, content, mode="update").json()

    assert body["summary"]["to_create"] == 1
    assert body["summary"]["invalid"] == 1
    assert codes(body)[3] == ["required"]


def test_update_only_reports_rows_that_match_nothing(staff_client, confirm, kwame):
    content = xlsx(["Phone", "Last Name"], ["0551234567", "Boateng"], ["0241234567", "Owusu"])

    body = upload(staff_client, content, mode="update_only").json()

    assert body["summary"]["no_match"] == 1
    assert body["summary"]["to_create"] == 0
    assert codes(body)[2] == ["no_match"]
    assert body["update_results"]["no_match"][0]["candidate"]["phone"] == "+233551234567"
    confirm(body["upload_id"])
    assert not User.objects.filter(phone="+233551234567").exists()
    answer = staff_client.get(status_url(body["upload_id"])).json()
    assert (answer["updated"], answer["skipped"]) == (1, 1)
    response = staff_client.get(reverse("users:import-errors", args=[body["upload_id"]]))
    report = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(report.iter_rows(values_only=True))
    assert len(rows) == 2
    assert "No customer has this phone" in rows[1][-1]


# --- ambiguity, clashes, blanks --------------------------------------------------------------


def test_a_row_matching_two_customers_is_ambiguous_and_not_written(staff_client, confirm, kwame):
    ama = CustomerFactory(phone="+233551234567", email="ama@example.com")
    content = xlsx(["Phone", "Email", "Last Name"], ["0241234567", "ama@example.com", "Owusu"])

    body = upload(staff_client, content, mode="update").json()

    assert body["summary"]["ambiguous"] == 1
    assert body["summary"]["to_update"] == 0
    error = next(e for e in body["errors"] if e["row"] == 2)
    assert (error["field"], error["code"]) == ("email", "ambiguous_match")
    assert f"#{kwame.pk}" in error["message"]
    assert f"#{ama.pk}" in error["message"]
    confirm(body["upload_id"])
    kwame.refresh_from_db()
    assert kwame.last_name == "Mensah"


def test_a_rows_own_values_are_no_clash_and_each_other_value_is_looked_up(staff_client, kwame):
    """A matched row's email and mark that its customer holds (in any case) clash with nobody;
    a value it does not hold is still checked, whichever key matched."""
    ama = CustomerFactory(phone="+233551234567", email="ama@example.com", shipping_mark="PM AMA")
    header = ["Phone", "Email", "Shipping Mark", "Last Name"]

    own = xlsx(header, ["0241234567", "KWAME@example.com", "pm gold", "Owusu"])
    body = upload(staff_client, own, mode="update").json()
    assert body["summary"]["to_update"] == 1
    assert changes_of(body, 2) == {"last_name": ("Mensah", "Owusu")}

    others_mark = xlsx(header, ["0241234567", "kwame@example.com", "PM AMA", "Owusu"])
    body = upload(staff_client, others_mark, mode="update").json()
    assert body["summary"]["ambiguous"] == 1
    error = next(e for e in body["errors"] if e["row"] == 2)
    assert (error["field"], error["code"]) == ("shipping_mark", "ambiguous_match")
    assert f"#{ama.pk}" in error["message"]

    others_phone = xlsx(["Email", "Phone", "Last Name"], ["Kwame@Example.com", "0551234567", "X"])
    body = upload(staff_client, others_phone, mode="update", match="email").json()
    assert body["summary"]["ambiguous"] == 1
    error = next(e for e in body["errors"] if e["row"] == 2)
    assert (error["field"], error["code"]) == ("phone", "ambiguous_match")


def test_an_update_taking_a_value_another_customer_took_since_fails_that_row(
    staff_client, confirm, kwame
):
    ama = CustomerFactory(phone="+233551234567", email="ama@example.com")
    content = xlsx(
        ["Phone", "Email"],
        ["0241234567", "new-kwame@example.com"],
        ["0551234567", "new-ama@example.com"],
    )
    body = upload(staff_client, content, mode="update").json()
    assert body["summary"]["to_update"] == 2
    # Between the preview and the run, someone else takes the email row 2 gives Kwame.
    CustomerFactory(phone="+233209998888", email="new-kwame@example.com")

    confirm(body["upload_id"])

    answer = staff_client.get(status_url(body["upload_id"])).json()
    assert (answer["updated"], answer["failed"]) == (1, 1)
    assert answer["failed_rows"][0]["row"] == 2
    assert answer["failed_rows"][0]["codes"] == ["duplicate_existing"]
    kwame.refresh_from_db()
    ama.refresh_from_db()
    assert kwame.email == "kwame@example.com"
    assert ama.email == "new-ama@example.com"


def test_two_rows_matching_one_customer_keep_the_first(staff_client, kwame):
    content = xlsx(["Phone", "Last Name"], ["0241234567", "Owusu"], ["+233241234567", "Asante"])

    body = upload(staff_client, content, mode="update").json()

    assert body["summary"]["to_update"] == 1
    assert body["summary"]["batch_duplicates"] == 1
    assert codes(body)[3] == ["duplicate_in_file"]


def test_blank_cells_keep_stored_values_unless_blank_clears(staff_client, confirm, kwame):
    content = xlsx(
        ["Phone", "Email", "Company", "First Name", "Region"], ["0241234567", "", "", "", ""]
    )

    kept = upload(staff_client, content, mode="update").json()
    assert kept["summary"]["unchanged"] == 1

    cleared = upload(staff_client, content, mode="update", blank_clears="true").json()
    # Only the optional text fields are erased; names and region always keep a value.
    assert changes_of(cleared, 2) == {
        "email": ("kwame@example.com", None),
        "company_name": ("Gold Ltd", ""),
    }
    confirm(cleared["upload_id"])
    kwame.refresh_from_db()
    assert (kwame.email, kwame.company_name, kwame.first_name) == (None, "", "Kwame")
    assert kwame.region == "ASHANTI"


def test_a_staff_account_is_never_updated_by_an_import(staff_client, staff):
    content = xlsx(["Phone", "Last Name"], [staff.phone, "Changed"])

    body = upload(staff_client, content, mode="update_only").json()

    assert body["summary"]["to_update"] == 0
    assert body["summary"]["existing_duplicates"] == 1


# --- history ---------------------------------------------------------------------------------


def test_a_customers_history_and_an_imports_changes_are_paged(staff_client, confirm, kwame):
    body = upload(
        staff_client, xlsx(["Phone", "Last Name"], ["0241234567", "Owusu"]), mode="update"
    ).json()
    confirm(body["upload_id"])
    staff_client.patch(
        reverse("users:customer-detail", args=[kwame.pk]), {"nickname": "KM"}, format="json"
    )

    history = staff_client.get(reverse("users:customer-history", args=[kwame.pk])).json()
    assert history["count"] == 2
    edit, imported = history["results"]
    assert (edit["source"], edit["fields"]) == ("edit", {"nickname": {"old": "", "new": "KM"}})
    assert imported["source"] == "import"
    assert imported["import_job"] == body["upload_id"]
    assert imported["fields"] == {"last_name": {"old": "Mensah", "new": "Owusu"}}
    assert (
        staff_client.get(reverse("users:admin-user-history", args=[kwame.pk])).json()["count"] == 2
    )

    changes = staff_client.get(
        reverse("users:import-changes", args=[body["upload_id"]]), {"page_size": 1}
    ).json()
    assert changes["count"] == 1
    assert changes["results"][0]["customer"] == kwame.pk


def test_another_admin_cannot_see_an_imports_changes(staff_client, confirm, kwame):
    body = upload(
        staff_client, xlsx(["Phone", "Last Name"], ["0241234567", "Owusu"]), mode="update"
    ).json()
    confirm(body["upload_id"])
    other = bearer_client(StaffFactory(user_role=Role.ADMIN))

    response = other.get(reverse("users:import-changes", args=[body["upload_id"]]))

    assert response.status_code == status.HTTP_404_NOT_FOUND
    assert ImportJob.objects.filter(pk=body["upload_id"]).exists()


def test_a_customer_deleted_after_the_preview_fails_its_row_alone(staff_client, confirm, kwame):
    ama = CustomerFactory(phone="+233551234567", last_name="Owusu")
    content = xlsx(["Phone", "Last Name"], ["0241234567", "Asante"], ["0551234567", "Boateng"])
    body = upload(staff_client, content, mode="update_only").json()
    kwame.delete()

    confirm(body["upload_id"])

    answer = staff_client.get(status_url(body["upload_id"])).json()
    assert (answer["updated"], answer["failed"]) == (1, 1)
    assert answer["failed_rows"][0]["codes"] == ["customer_deleted"]
    ama.refresh_from_db()
    assert ama.last_name == "Boateng"


def test_rows_changing_different_fields_keep_every_other_field_as_it_is_at_the_run(
    staff_client, confirm, kwame
):
    ama = CustomerFactory(phone="+233551234567", last_name="Owusu", region="VOLTA")
    content = xlsx(
        ["Phone", "Last Name", "Region"],
        ["0241234567", "Asante", ""],
        ["0551234567", "", "Oti"],
    )
    body = upload(staff_client, content, mode="update").json()
    assert body["summary"]["to_update"] == 2
    # After the preview, another admin changes fields the rows do not change.
    User.objects.filter(pk=kwame.pk).update(region="CENTRAL")
    User.objects.filter(pk=ama.pk).update(last_name="Boateng")

    confirm(body["upload_id"])

    kwame.refresh_from_db()
    ama.refresh_from_db()
    assert (kwame.last_name, kwame.region) == ("Asante", "CENTRAL")
    assert (ama.last_name, ama.region) == ("Boateng", "OTI")
    changed = {c.customer_id: c.fields for c in CustomerChange.objects.all()}
    assert changed[kwame.pk] == {"last_name": {"old": "Mensah", "new": "Asante"}}
    assert changed[ama.pk] == {"region": {"old": "VOLTA", "new": "OTI"}}
