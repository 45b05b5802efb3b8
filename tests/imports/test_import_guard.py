"""What an import may write: only plain customers, decided by one rule in the preview, again
under the batch's lock in the run, and in the undo's restore; never a move of an account's
sign-in identity (its phone) when someone can sign in to it, never a match by an email its holder
chose without proof; and an undo that keeps a customer who has a password since the import."""

import pytest
from django.urls import reverse
from rest_framework import status

from tests.accounts.test_signup import sign_up
from tests.conftest import bearer_client
from tests.factories import CustomerFactory, StaffFactory
from tests.imports.test_undo_api import undo_url
from tests.imports.test_update_api import upload, xlsx
from tests.spa import SIGNUP_FORM
from users.models import ImportJob, ImportRowError, Role, User

pytestmark = pytest.mark.django_db

CONFIRM = reverse("users:import-confirm")
HEADER = ["Shipping Mark", "First Name", "Last Name", "Email", "Phone Number"]
PROSPECT_PHONE = "+233551110000"


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Runs a request's queued tasks as the worker would, after the commit."""

    def call(send, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return send(*args, **kwargs)

    return call


def codes(body) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for error in body["errors"]:
        found.setdefault(error["row"], []).append(error["code"])
    return found


def confirm(client, run_on_commit, upload_id) -> ImportJob:
    response = run_on_commit(client.post, CONFIRM, {"upload_id": upload_id}, format="json")
    assert response.status_code == status.HTTP_202_ACCEPTED, response.json()
    return ImportJob.objects.get(pk=upload_id)


def run_errors(job: ImportJob) -> list[tuple[int, str, str]]:
    return list(
        ImportRowError.objects.filter(job=job, at_run=True).values_list("row", "field", "code")
    )


# --- only plain customers, in the preview and again in the run -------------------------------


@pytest.mark.parametrize(
    "promotion",
    [{"is_superuser": True}, {"is_staff": True}, {"user_role": Role.ADMIN}],
    ids=["superuser", "is_staff", "admin_role"],
)
def test_an_account_made_staff_after_the_preview_is_not_updated_by_the_run(
    staff_client, run_on_commit, promotion
):
    # Given an update previewed while the account was a plain customer, changing its phone
    target = CustomerFactory(phone="+233241234567", shipping_mark="PM TARGET", last_name="Old")
    content = xlsx(HEADER, ["PM TARGET", "Kwame", "New", "", "0551110000"])
    body = upload(staff_client, content, mode="update", match="shipping_mark").json()
    assert body["summary"]["to_update"] == 1
    # and the account is made staff before the confirm
    User.objects.filter(pk=target.pk).update(**promotion)

    # When the import runs
    job = confirm(staff_client, run_on_commit, body["upload_id"])

    # Then nothing of the account changes, and the row says why
    target.refresh_from_db()
    assert (target.phone, target.last_name) == ("+233241234567", "Old")
    job.refresh_from_db()
    assert (job.status, job.updated_count, job.failed_count) == ("COMPLETE", 0, 1)
    assert run_errors(job) == [(2, "", "not_a_customer")]


def test_a_superuser_with_the_customer_role_is_a_duplicate_in_the_preview(staff_client):
    CustomerFactory(phone="+233241234567", shipping_mark="PM ROOT", is_superuser=True)

    body = upload(
        staff_client,
        xlsx(HEADER, ["PM ROOT", "Kwame", "New", "", "0551110000"]),
        mode="update",
        match="shipping_mark",
    ).json()

    assert body["summary"]["to_update"] == 0
    assert codes(body)[2] == ["duplicate_existing"]


# --- an email its holder chose proves nothing -------------------------------------------------


def test_an_email_the_customer_set_on_their_profile_does_not_match_them(staff_client):
    # Given a customer who set a prospect's address as their own email, unverified
    customer = CustomerFactory(phone="+233241234567", shipping_mark="PM MINE", email=None)
    answer = bearer_client(customer).patch(
        reverse("users:profile"), {"email": "prospect@example.com"}, format="json"
    )
    assert answer.status_code == status.HTTP_200_OK, answer.json()

    # When an admin's update import matched by email carries the prospect's details
    content = xlsx(HEADER, ["PM PROSPECT", "Pro", "Spect", "prospect@example.com", "0551110000"])
    body = upload(staff_client, content, mode="update", match="email").json()

    # Then the row is not an update of that customer but a row to review, and nothing changes
    assert body["summary"]["to_update"] == 0
    assert body["summary"]["existing_duplicates"] == 1
    assert codes(body)[2] == ["needs_review"]
    error = next(e for e in body["errors"] if e["row"] == 2)
    assert error["field"] == "email"
    existing = body["duplicate_results"]["existing_duplicates"][0]["existing_customers"]
    assert [c["id"] for c in existing] == [customer.pk]


def test_an_email_set_by_staff_matches_again(staff_client, run_on_commit):
    # Given a customer whose own email staff have since set
    customer = CustomerFactory(phone="+233241234567", shipping_mark="PM MINE", email=None)
    bearer_client(customer).patch(
        reverse("users:profile"), {"email": "mine@example.com"}, format="json"
    )
    staff_client.patch(
        reverse("users:customer-detail", args=[customer.pk]),
        {"email": "kwame@example.com"},
        format="json",
    )

    # When an update import matches by that email
    content = xlsx(HEADER, ["", "Kwame", "Asante", "kwame@example.com", ""])
    body = upload(staff_client, content, mode="update", match="email").json()

    # Then it is an update
    assert body["summary"]["to_update"] == 1
    confirm(staff_client, run_on_commit, body["upload_id"])
    customer.refresh_from_db()
    assert customer.last_name == "Asante"


def test_an_email_given_at_sign_up_does_not_match(staff_client, client):
    # Given a customer who signed up with an email nobody has verified
    answer = sign_up(client, {**SIGNUP_FORM, "email": "prospect@example.com"})
    assert answer.status == status.HTTP_202_ACCEPTED, answer.body

    body = upload(
        staff_client,
        xlsx(HEADER, ["", "Pro", "Spect", "prospect@example.com", ""]),
        mode="update",
        match="email",
    ).json()

    assert codes(body)[2] == ["needs_review"]


# --- an account someone can sign in to keeps its phone ----------------------------------------


def test_an_import_does_not_change_the_phone_of_an_account_with_a_password(staff_client):
    CustomerFactory(phone="+233241234567", shipping_mark="PM HELD", password="own-password-77")
    CustomerFactory(phone="+233241234568", shipping_mark="PM FREE")

    content = xlsx(
        HEADER,
        ["PM HELD", "Kwame", "Mensah", "", "0551110000"],
        ["PM FREE", "Ama", "Owusu", "", "0551110001"],
    )
    body = upload(staff_client, content, mode="update", match="shipping_mark").json()

    # The account nobody can sign in to yet (imported, no password) may get its phone fixed.
    assert body["summary"]["to_update"] == 1
    assert body["update_results"]["to_update"][0]["source_row_number"] == 3
    assert codes(body)[2] == ["needs_review"]
    error = next(e for e in body["errors"] if e["row"] == 2)
    assert (error["field"], error["value"]) == ("phone", "+233551110000")


def test_other_fields_of_an_account_with_a_password_still_update(staff_client):
    CustomerFactory(phone="+233241234567", shipping_mark="PM HELD", password="own-password-77")

    content = xlsx(HEADER, ["PM HELD", "Kwame", "Mensah", "", "0241234567"])
    body = upload(staff_client, content, mode="update", match="shipping_mark").json()

    assert body["summary"]["to_update"] == 1


def test_a_password_set_after_the_preview_keeps_the_phone_at_run_time(staff_client, run_on_commit):
    # Given a phone change previewed while the account had no password
    target = CustomerFactory(phone="+233241234567", shipping_mark="PM TARGET")
    content = xlsx(HEADER, ["PM TARGET", "Kwame", "Mensah", "", "0551110000"])
    body = upload(staff_client, content, mode="update", match="shipping_mark").json()
    assert body["summary"]["to_update"] == 1
    # and its holder sets a password before the confirm
    target.set_password("own-password-77")
    target.save()

    job = confirm(staff_client, run_on_commit, body["upload_id"])

    target.refresh_from_db()
    assert target.phone == "+233241234567"
    assert run_errors(job) == [(2, "phone", "needs_review")]


# --- the undo ----------------------------------------------------------------------------------


def test_undo_keeps_a_created_customer_who_has_a_password_since(staff_client, run_on_commit):
    # Given an import that created two customers, one of whom has since set a password
    content = xlsx(
        HEADER,
        ["PM ONE", "Yaw", "One", "", "0201000001"],
        ["PM TWO", "Yaw", "Two", "", "0201000002"],
    )
    body = upload(staff_client, content).json()
    job = confirm(staff_client, run_on_commit, body["upload_id"])
    claimed = User.objects.get(phone="+233201000001")
    claimed.set_password("own-password-77")
    claimed.save()

    # When the import is undone
    run_on_commit(staff_client.post, undo_url(job.pk))

    # Then that customer is kept, with the reason, and the other is deleted
    answer = staff_client.get(undo_url(job.pk)).json()["undo"]
    assert (answer["deleted"], answer["kept"]) == (1, 1)
    kept = [(k["customer_id"], k["action"], k["code"]) for k in answer["kept_customers"]]
    assert kept == [(claimed.pk, "delete", "claimed")]
    assert list(User.objects.filter(import_job=job).values_list("pk", flat=True)) == [claimed.pk]


def test_undo_does_not_restore_an_account_made_superuser_since(staff_client, run_on_commit):
    target = CustomerFactory(phone="+233241234567", shipping_mark="PM TARGET", last_name="Old")
    content = xlsx(HEADER, ["PM TARGET", "Kwame", "New", "", ""])
    body = upload(staff_client, content, mode="update", match="shipping_mark").json()
    job = confirm(staff_client, run_on_commit, body["upload_id"])
    User.objects.filter(pk=target.pk).update(is_superuser=True)

    run_on_commit(staff_client.post, undo_url(job.pk))

    target.refresh_from_db()
    assert target.last_name == "New"
    answer = staff_client.get(undo_url(job.pk)).json()["undo"]
    kept = [(k["customer_id"], k["action"], k["code"]) for k in answer["kept_customers"]]
    # A superuser now: the admin who imported is not told which account it is.
    assert kept == [(None, "restore", "not_a_customer")]
    boss = StaffFactory(user_role=Role.SUPER_ADMIN)
    answer = bearer_client(boss).get(undo_url(job.pk)).json()["undo"]
    assert [k["customer_id"] for k in answer["kept_customers"]] == [target.pk]


def test_undo_does_not_move_back_the_phone_of_an_account_with_a_password_since(
    staff_client, run_on_commit
):
    target = CustomerFactory(phone="+233241234567", shipping_mark="PM TARGET")
    content = xlsx(HEADER, ["PM TARGET", "Kwame", "Mensah", "", "0551110000"])
    body = upload(staff_client, content, mode="update", match="shipping_mark").json()
    job = confirm(staff_client, run_on_commit, body["upload_id"])
    target.refresh_from_db()
    assert target.phone == PROSPECT_PHONE
    target.set_password("own-password-77")
    target.save()

    run_on_commit(staff_client.post, undo_url(job.pk))

    target.refresh_from_db()
    assert target.phone == PROSPECT_PHONE
    answer = staff_client.get(undo_url(job.pk)).json()["undo"]
    kept = [(k["customer_id"], k["action"], k["code"]) for k in answer["kept_customers"]]
    assert kept == [(target.pk, "restore", "claimed")]
