"""Undoing an import through the API: what is deleted, restored and kept, who may undo, and
an undo that stops midway and goes on from its checkpoint."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework import status

from tests.conftest import bearer_client
from tests.factories import CustomerFactory, StaffFactory
from tests.imports.test_update_api import upload, xlsx
from users.imports import jobs
from users.imports import undo as undoing
from users.models import CustomerChange, ImportJob, ImportUndo, Role, User

pytestmark = pytest.mark.django_db

CONFIRM = reverse("users:import-confirm")
HEADER = ["Phone", "First Name", "Last Name", "Email"]


def undo_url(job_id) -> str:
    return reverse("users:import-undo", args=[job_id])


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Runs a request's queued tasks as the worker would, after the commit."""

    def call(send, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return send(*args, **kwargs)

    return call


@pytest.fixture
def imported(staff_client, run_on_commit):
    """An import (mode update) that updated two customers and created three."""
    kwame = CustomerFactory(phone="+233241234567", last_name="Mensah", email="kwame@example.com")
    ama = CustomerFactory(phone="+233551234567", last_name="Owusu", email="ama@example.com")
    content = xlsx(
        HEADER,
        ["0241234567", "Kwame", "Asante", "kwame.asante@example.com"],
        ["0551234567", "Ama", "Boateng", ""],
        ["0201000001", "Yaw", "One", "yaw1@example.com"],
        ["0201000002", "Yaw", "Two", "yaw2@example.com"],
        ["0201000003", "Yaw", "Three", ""],
    )
    body = upload(staff_client, content, mode="update").json()
    run_on_commit(staff_client.post, CONFIRM, {"upload_id": body["upload_id"]}, format="json")
    job = ImportJob.objects.get(pk=body["upload_id"])
    assert (job.created_count, job.updated_count) == (3, 2)
    return job, kwame, ama


def test_undo_deletes_what_the_import_created_and_restores_what_it_updated(
    staff_client, staff, run_on_commit, imported
):
    job, kwame, ama = imported

    response = run_on_commit(staff_client.post, undo_url(job.pk))

    assert response.status_code == status.HTTP_202_ACCEPTED
    answer = staff_client.get(undo_url(job.pk)).json()["undo"]
    assert answer["status"] == "COMPLETE"
    assert (answer["to_delete"], answer["deleted"]) == (3, 3)
    assert (answer["to_restore"], answer["restored"]) == (2, 2)
    assert answer["kept"] == 0
    assert not User.objects.filter(import_job=job).exists()
    kwame.refresh_from_db()
    ama.refresh_from_db()
    assert (kwame.last_name, kwame.email) == ("Mensah", "kwame@example.com")
    assert ama.last_name == "Owusu"
    job.refresh_from_db()
    assert job.undone_at is not None
    assert job.undone_by_id == staff.pk
    status_answer = staff_client.get(reverse("users:import-status", args=[job.pk])).json()
    assert status_answer["undo"]["status"] == "COMPLETE"
    assert status_answer["undone_by"] == staff.pk
    # The history shows the import and its undo.
    history = staff_client.get(reverse("users:customer-history", args=[kwame.pk])).json()
    assert [change["source"] for change in history["results"]] == ["undo", "import"]


def test_customers_changed_since_or_signed_in_are_kept_and_listed(
    staff_client, run_on_commit, imported
):
    job, kwame, ama = imported
    yaw1, yaw2, yaw3 = User.objects.filter(import_job=job).order_by("source_row")
    # Someone edits Kwame (updated by the import) and Yaw One (created by it); Yaw Two signs in;
    # Ama's last name is changed outside any recorded edit.
    staff_client.patch(
        reverse("users:customer-detail", args=[kwame.pk]), {"nickname": "KA"}, format="json"
    )
    staff_client.patch(
        reverse("users:customer-detail", args=[yaw1.pk]), {"last_name": "Uno"}, format="json"
    )
    User.objects.filter(pk=yaw2.pk).update(last_login=timezone.now())
    User.objects.filter(pk=ama.pk).update(last_name="Changed")

    run_on_commit(staff_client.post, undo_url(job.pk))

    answer = staff_client.get(undo_url(job.pk)).json()["undo"]
    assert (answer["deleted"], answer["restored"], answer["kept"]) == (1, 0, 4)
    kept = {(k["customer_id"], k["action"], k["code"]) for k in answer["kept_customers"]}
    assert kept == {
        (kwame.pk, "restore", "changed_since"),
        (ama.pk, "restore", "changed_since"),
        (yaw1.pk, "delete", "changed_since"),
        (yaw2.pk, "delete", "signed_in"),
    }
    assert set(User.objects.filter(import_job=job).values_list("pk", flat=True)) == {
        yaw1.pk,
        yaw2.pk,
    }
    assert not User.objects.filter(pk=yaw3.pk).exists()
    kwame.refresh_from_db()
    assert kwame.last_name == "Asante"  # not touched


def test_a_value_to_restore_taken_since_keeps_that_customer_alone(
    staff_client, run_on_commit, imported
):
    job, _, ama = imported
    # Kwame's old email is free since the import; someone takes it.
    CustomerFactory(phone="+233209990000", email="kwame@example.com")

    run_on_commit(staff_client.post, undo_url(job.pk))

    answer = staff_client.get(undo_url(job.pk)).json()["undo"]
    assert (answer["restored"], answer["kept"]) == (1, 1)
    assert answer["kept_customers"][0]["code"] == "value_taken"
    ama.refresh_from_db()
    assert ama.last_name == "Owusu"


def test_asking_twice_gives_the_same_undo(staff_client, run_on_commit, imported):
    job, _, _ = imported
    run_on_commit(staff_client.post, undo_url(job.pk))

    again = run_on_commit(staff_client.post, undo_url(job.pk))

    assert again.status_code == status.HTTP_202_ACCEPTED
    assert again.json()["undo"]["deleted"] == 3
    assert ImportUndo.objects.filter(job=job).count() == 1


def test_only_the_owner_or_a_super_admin_may_undo(staff_client, run_on_commit, imported):
    job, _, _ = imported
    other = bearer_client(StaffFactory(user_role=Role.ADMIN))

    refused = other.post(undo_url(job.pk))

    assert refused.status_code == status.HTTP_404_NOT_FOUND
    assert refused.json()["code"] == "not_found"
    assert not ImportUndo.objects.exists()
    boss = bearer_client(StaffFactory(user_role=Role.SUPER_ADMIN))
    assert run_on_commit(boss.post, undo_url(job.pk)).status_code == status.HTTP_202_ACCEPTED
    assert not User.objects.filter(import_job=job).exists()


def test_an_import_not_finished_cannot_be_undone(staff_client, staff):
    job = ImportJob.objects.create(owner=staff, status=ImportJob.Status.RUNNING)

    response = staff_client.post(undo_url(job.pk))

    assert response.status_code == status.HTTP_409_CONFLICT
    assert response.json()["code"] == "import_not_finished"


def test_a_stopped_undo_goes_on_from_its_checkpoint(
    staff_client, staff, settings, imported, django_capture_on_commit_callbacks
):
    job, kwame, _ = imported
    settings.IMPORT_BATCH_SIZE = 1
    with django_capture_on_commit_callbacks(execute=False):
        undo, _ = jobs.import_undo_request(job_id=job.pk, user=staff)
    steps = iter([False, False, True])  # two batches, then asked to stop

    assert (
        undoing.import_undo_run(
            undo_id=undo.pk, worker_id="w1", should_stop=lambda: next(steps, True)
        )
        == "released"
    )
    undo.refresh_from_db()
    assert undo.status == ImportJob.Status.QUEUED
    assert (undo.restored_count, undo.deleted_count) == (2, 0)

    assert undoing.import_undo_run(undo_id=undo.pk, worker_id="w2") == "complete"
    undo.refresh_from_db()
    assert (undo.restored_count, undo.deleted_count, undo.kept_count) == (2, 3, 0)
    assert CustomerChange.objects.filter(source="undo", customer=kwame).count() == 1


def test_an_undo_whose_worker_went_quiet_is_queued_again_by_a_poll(
    staff_client, staff, settings, imported, django_capture_on_commit_callbacks
):
    job, _, _ = imported
    with django_capture_on_commit_callbacks(execute=False):
        undo, _ = jobs.import_undo_request(job_id=job.pk, user=staff)
    # A worker claimed it and vanished: its heartbeat is older than IMPORT_STALE_AFTER.
    ImportUndo.objects.filter(pk=undo.pk).update(
        status=ImportJob.Status.RUNNING,
        worker_id="gone",
        heartbeat_at=timezone.now() - timedelta(seconds=settings.IMPORT_STALE_AFTER + 1),
    )

    with django_capture_on_commit_callbacks(execute=True):
        answer = staff_client.get(undo_url(job.pk)).json()["undo"]

    assert answer["status"] == "QUEUED"
    undo.refresh_from_db()
    assert undo.status == ImportJob.Status.COMPLETE  # the task queued again has run it
    assert undo.deleted_count == 3
