"""Cancelling imports through the API: queued, running (between batches), finished, twice, and
by whom."""

import pytest
from django.test import override_settings
from django.urls import reverse
from rest_framework import status

from tests.conftest import bearer_client
from tests.factories import StaffFactory
from tests.imports.helpers import preview, queue, records, run
from users.models import ImportJob, Role, User


def cancel_url(job_id) -> str:
    return reverse("users:import-cancel", args=[job_id])


def customers_of(job_id) -> int:
    return User.objects.filter(import_job_id=job_id).count()


@pytest.mark.django_db
def test_a_queued_import_is_cancelled_at_once_and_never_runs(staff, staff_client):
    job = queue(preview(staff, records(5)))

    response = staff_client.post(cancel_url(job.pk))

    assert response.status_code == status.HTTP_200_OK
    body = response.json()
    assert body["status"] == "CANCELLED"
    assert (body["created"], body["failed"]) == (0, 0)
    assert body["is_finished"] is True
    assert "before it started" in body["message"]
    assert run(job) == "not_claimed"
    assert customers_of(job.pk) == 0


@pytest.mark.django_db
def test_cancelling_twice_answers_the_same(staff, staff_client):
    job = queue(preview(staff, records(3)))
    first = staff_client.post(cancel_url(job.pk)).json()

    second = staff_client.post(cancel_url(job.pk))

    assert second.status_code == status.HTTP_200_OK
    assert second.json()["status"] == "CANCELLED"
    assert second.json()["message"] == first["message"]


@pytest.mark.django_db
def test_a_cancelled_preview_cannot_be_confirmed(staff, staff_client):
    job = preview(staff, records(3))
    staff_client.post(cancel_url(job.pk))

    response = staff_client.post(
        reverse("users:import-confirm"), {"upload_id": str(job.pk)}, format="json"
    )

    assert response.json()["status"] == "CANCELLED"
    assert run(job) == "not_claimed"
    assert customers_of(job.pk) == 0


@pytest.mark.django_db
def test_a_finished_import_cannot_be_cancelled(staff, staff_client):
    job = queue(preview(staff, records(2)))
    assert run(job) == "complete"

    response = staff_client.post(cancel_url(job.pk))

    assert response.status_code == status.HTTP_409_CONFLICT
    body = response.json()
    assert body["code"] == "import_finished"
    assert body["errors"]["status"] == "COMPLETE"
    assert ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.COMPLETE


@pytest.mark.django_db
def test_another_admin_cannot_cancel_an_import_but_a_super_admin_can(staff):
    job = queue(preview(staff, records(2)))
    other = bearer_client(StaffFactory())
    boss = bearer_client(StaffFactory(user_role=Role.SUPER_ADMIN))

    refused = other.post(cancel_url(job.pk))
    allowed = boss.post(cancel_url(job.pk))

    assert refused.status_code == status.HTTP_404_NOT_FOUND
    assert allowed.status_code == status.HTTP_200_OK
    assert allowed.json()["status"] == "CANCELLED"


@pytest.mark.django_db
def test_a_customer_cannot_cancel_an_import(staff, customer_client):
    job = queue(preview(staff, records(2)))

    response = customer_client.post(cancel_url(job.pk))

    assert response.status_code == status.HTTP_403_FORBIDDEN
    assert ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.QUEUED


@pytest.mark.django_db(transaction=True)
@override_settings(IMPORT_BATCH_SIZE=10)
def test_a_running_import_stops_after_the_batch_it_was_in_and_keeps_its_customers(staff):
    # given a 50-row import whose owner cancels it while its second batch commits
    job = queue(preview(staff, records(50)))
    ImportJob.objects.filter(pk=job.pk).update(notify=True)
    client = bearer_client(staff)
    answers = []
    batches = []

    def after_batch(source_rows):
        batches.append(len(source_rows))
        if len(batches) == 2:
            answers.append(client.post(cancel_url(job.pk)))

    # when the worker runs it
    outcome = run(job, on_created=after_batch)

    # then it stopped before its third batch, CANCELLED, with the 20 customers it made
    assert outcome == "cancelled"
    assert batches == [10, 10]
    body = answers[0].json()
    assert (body["status"], body["created"]) == ("CANCELLED", 20)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.CANCELLED
    assert (job.created_count, job.checkpoint) == (20, 20)
    assert customers_of(job.pk) == 20
    assert "20 of 50 customers" in job.message


@pytest.mark.django_db(transaction=True)
def test_a_cancelled_job_is_not_queued_again_by_the_watchdog_nor_taken_by_a_worker(staff, settings):
    from users.imports import jobs, leases
    from users.imports import run as runner

    job = queue(preview(staff, records(5)))
    assert leases.lease_take(ImportJob, job.pk, "w1")
    bearer_client(staff).post(cancel_url(job.pk))
    settings.IMPORT_STALE_AFTER = 0

    recovered = jobs.import_jobs_recover_stale()
    outcome = runner.import_job_run(job_id=job.pk, worker_id="w1", should_stop=lambda: True)

    assert recovered == 0
    assert outcome == "not_claimed"
    assert ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.CANCELLED


@pytest.mark.django_db(transaction=True)
@override_settings(IMPORT_BATCH_SIZE=10)
def test_a_running_update_stops_after_its_batch_and_counts_the_customers_it_updated(
    staff, monkeypatch
):
    # given 30 customers, and an update of all of them running in batches of 10
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.excel import builders
    from users.imports import run as runner

    assert run(queue(preview(staff, records(30)))) == "complete"
    header = ["Phone Number", "Nickname"]
    rows = [[record["phone"], f"Nick{n}"] for n, record in enumerate(records(30))]
    client = bearer_client(staff)
    uploaded = client.post(
        reverse("users:import-upload"),
        {
            "file": SimpleUploadedFile("u.xlsx", builders.xlsx_bytes([header, *rows])),
            "mode": "update",
        },
        format="multipart",
    ).json()
    assert uploaded["summary"]["to_update"] == 30
    job = queue(ImportJob.objects.get(pk=uploaded["upload_id"]))
    answers = []
    real_run_batch = runner._run_batch

    def run_batch_then_cancel_after_the_second(*args, **kwargs):
        done = real_run_batch(*args, **kwargs)
        if len(answers) == 0 and ImportJob.objects.get(pk=job.pk).checkpoint >= 20:
            answers.append(client.post(cancel_url(job.pk)))
        return done

    monkeypatch.setattr(runner, "_run_batch", run_batch_then_cancel_after_the_second)

    # when the worker runs it
    outcome = run(job)

    # then it stopped with the 20 customers of its first two batches updated, and says so
    assert outcome == "cancelled"
    body = answers[0].json()
    assert body["status"] == "CANCELLED"
    job.refresh_from_db()
    assert (job.updated_count, job.checkpoint) == (20, 20)
    assert User.objects.filter(nickname__startswith="Nick").count() == 20
    assert "20 of 30 updated" in job.message
