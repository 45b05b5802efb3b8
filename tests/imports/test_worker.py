"""Jobs run by the real task worker (django-tasks-db's db_worker behind run_worker), against the
real database queue, with real commits."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests.factories import StaffFactory
from tests.imports.helpers import preview, queue, records
from users.imports import tasks
from users.models import ImportJob, User

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def database_queue(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.IMPORT_BATCH_SIZE = 7


def work_off_the_queue() -> None:
    call_command("run_worker", batch=True, interval=0, verbosity=0)


def test_a_confirmed_import_waits_in_the_queue_until_a_worker_runs_it(staff, staff_client):
    job = preview(staff, records(20))

    response = staff_client.post(
        reverse("users:import-confirm"), {"upload_id": str(job.pk)}, format="json"
    )

    job.refresh_from_db()
    assert response.json()["status"] == "QUEUED"
    assert job.status == ImportJob.Status.QUEUED
    assert DBTaskResult.objects.count() == 1
    work_off_the_queue()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.COMPLETE
    assert User.objects.filter(import_job=job).count() == 20


def test_a_job_queued_twice_is_run_once(staff):
    job = queue(preview(staff, records(20)))
    tasks._enqueue(job.pk)
    tasks._enqueue(job.pk)

    work_off_the_queue()

    job.refresh_from_db()
    assert job.status == ImportJob.Status.COMPLETE
    assert job.attempts == 1
    assert User.objects.filter(import_job=job).count() == 20
    assert sorted(DBTaskResult.objects.values_list("return_value", flat=True)) == [
        "complete",
        "not_claimed",
    ]


def test_a_starting_worker_takes_up_a_job_whose_worker_died():
    owner = StaffFactory()
    job = queue(preview(owner, records(20)))
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.RUNNING,
        worker_id="died",
        attempts=1,
        checkpoint=7,
        heartbeat_at=timezone.now() - timedelta(hours=1),
    )

    work_off_the_queue()

    job.refresh_from_db()
    assert job.status == ImportJob.Status.COMPLETE
    assert job.attempts == 2
    assert sorted(User.objects.filter(import_job=job).values_list("source_row", flat=True)) == list(
        range(9, 22)
    )
