"""The same import jobs on the Redis queue (django-tasks-rq), worked off by rqworker. Skipped
when no Redis answers on the test Redis URL (failed under CI=true)."""

import socket
from urllib.parse import urlparse

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.urls import reverse

from tests.conftest import missing_service
from tests.imports.helpers import preview, queue, records
from users.imports import tasks
from users.models import ImportJob, User


def _redis_answers() -> bool:
    url = urlparse(django_settings.RQ_QUEUES["default"]["URL"])
    try:
        with socket.create_connection((url.hostname, url.port or 6379), timeout=0.5):
            return True
    except OSError:
        return False


pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def redis_queue(settings):
    if not _redis_answers():
        missing_service("no Redis answers for the RQ tests")
    import django_rq

    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend"}}
    settings.IMPORT_BATCH_SIZE = 7
    django_rq.get_queue("default").empty()
    yield
    django_rq.get_queue("default").empty()


def work_off_the_queue() -> None:
    call_command("run_worker", batch=True, rq_worker_class="rq.SimpleWorker", verbosity=0)


def test_a_confirmed_import_runs_on_the_redis_queue(staff, staff_client):
    job = preview(staff, records(20))

    response = staff_client.post(
        reverse("users:import-confirm"), {"upload_id": str(job.pk)}, format="json"
    )
    work_off_the_queue()

    job.refresh_from_db()
    assert response.json()["status"] == "QUEUED"
    assert job.status == ImportJob.Status.COMPLETE
    assert User.objects.filter(import_job=job).count() == 20


def test_a_job_queued_twice_on_redis_is_run_once(staff):
    job = queue(preview(staff, records(20)))
    tasks._enqueue(job.pk)
    tasks._enqueue(job.pk)

    work_off_the_queue()

    job.refresh_from_db()
    assert job.attempts == 1
    assert job.created_count == 20
    assert User.objects.filter(import_job=job).count() == 20
