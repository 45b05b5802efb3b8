"""Keeping the queue honest: jobs whose worker went quiet are queued again (or failed after too
many attempts), and old previews and stored rows are pruned. Real commits."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import StaffFactory
from tests.imports.helpers import customer_record, preview, queue, records, run
from users.imports import jobs
from users.models import ImportJob, User

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def owner():
    return StaffFactory()


def test_a_stale_running_job_is_queued_again_by_the_watchdog(
    owner, django_capture_on_commit_callbacks
):
    job = queue(preview(owner, records(5)))
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.RUNNING,
        worker_id="dead",
        attempts=1,
        heartbeat_at=timezone.now() - timedelta(hours=1),
    )

    touched = jobs.import_jobs_recover_stale()

    job.refresh_from_db()
    assert touched == 1
    assert job.status == ImportJob.Status.COMPLETE
    assert job.created_count == 5


def test_a_job_that_keeps_losing_its_worker_fails_after_the_attempt_limit(owner, settings):
    settings.IMPORT_MAX_ATTEMPTS = 3
    job = queue(preview(owner, records(5)))
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.RUNNING,
        attempts=3,
        heartbeat_at=timezone.now() - timedelta(hours=1),
    )

    jobs.import_jobs_recover_stale()

    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert "3 attempts" in job.message


def test_old_previews_and_the_rows_of_old_imports_are_pruned(owner, settings):
    settings.IMPORT_KEEP_PREVIEWS_HOURS = 1
    settings.IMPORT_KEEP_ROWS_DAYS = 1
    old = timezone.now() - timedelta(days=2)
    abandoned = preview(owner, records(3))
    finished = queue(preview(owner, [*records(2, start=10), customer_record(11)]))
    run(finished)
    fresh = preview(owner, records(1, start=20))
    ImportJob.objects.filter(pk=abandoned.pk).update(created_at=old)
    ImportJob.objects.filter(pk=finished.pk).update(finished_at=old)

    assert jobs.import_jobs_prune() == (1, 1)

    finished.refresh_from_db()
    assert not ImportJob.objects.filter(pk=abandoned.pk).exists()
    assert ImportJob.objects.filter(pk=fresh.pk).exists()
    assert finished.rows_pruned_at is not None
    assert (finished.created_count, finished.batch_duplicate_count) == (2, 1)
    assert not finished.staged_rows.exists()
    assert not finished.row_errors.exists()
    assert User.objects.filter(import_job=finished).count() == 2
