"""Which worker may advance a job: the lease.

A job (an import, ImportJob, or the undo of one, ImportUndo) is advanced only by the worker
holding its lease (job.worker_id, with job.heartbeat_at refreshed at every batch). A worker
takes the lease of a queued job, or of a running one whose heartbeat is older than
IMPORT_STALE_AFTER (its worker went quiet); every batch re-reads the job under a row lock and
stops if the lease moved. "Lease", not "claim": a customer claims an account
(users.accounts.claim), a worker leases a job.
"""

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from enum import StrEnum
from typing import TypeVar

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.db.models import F, Q
from django.utils import timezone

from users.models import ImportJob, ImportUndo

logger = logging.getLogger(__name__)

# Times a step is retried after the database connection was lost.
DB_RETRIES = 5

Job = TypeVar("Job", ImportJob, ImportUndo)
T = TypeVar("T")


class RunOutcome(StrEnum):
    """What one worker's run of a job (users.imports.run, users.imports.undo) came to. The
    values are what the task reports as its result, and stay as they were."""

    COMPLETE = "complete"
    NOT_TAKEN = "not_claimed"  # queued for nobody: not queued, or another worker holds it
    LOST_LEASE = "lost_claim"  # another worker took it over mid-run
    CANCELLED = "cancelled"  # found cancelled before a batch (only an import can be): it stays so
    RELEASED = "released"  # asked to stop: QUEUED again, for the caller to queue
    FAILED = "failed"  # an internal error: the job is FAILED, what it did stays done


class LostLease(Exception):
    """Another worker took the job over, or it was cancelled: stop without touching it."""


class Cancelled(LostLease):
    """The job was cancelled (users.imports.jobs.import_job_cancel): stop before the next batch."""


def lease_take(model: type[ImportJob] | type[ImportUndo], pk: object, worker_id: str) -> bool:
    """Takes the job (an import, or an undo: `model`) if it is queued, or running with a stale
    heartbeat: one conditional UPDATE, so two workers never both take it."""
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.IMPORT_STALE_AFTER)
    takeable = Q(status=ImportJob.Status.QUEUED) | Q(
        Q(heartbeat_at__lt=stale_before) | Q(heartbeat_at__isnull=True),
        status=ImportJob.Status.RUNNING,
    )
    taken = (
        model.objects.filter(takeable, pk=pk).update(
            status=ImportJob.Status.RUNNING,
            worker_id=worker_id,
            heartbeat_at=now,
            attempts=F("attempts") + 1,
        )
        == 1
    )
    if taken:
        model.objects.filter(pk=pk, started_at__isnull=True).update(started_at=now)
    return taken


def leased(model: type[Job], pk: object, worker_id: str) -> Job:
    """The job (an import, or an undo: `model`), row-locked for this transaction, if this
    worker still holds its lease: Cancelled if it was cancelled (only an import can be),
    LostLease if another worker holds it."""
    # The plugin checks `pk` against the key of both models the TypeVar allows (a UUID, an
    # int) at once; each caller passes the key of the model it names.
    job = model.objects.select_for_update().get(pk=pk)  # type: ignore[misc]
    if job.status == ImportJob.Status.CANCELLED:
        raise Cancelled
    if job.status != ImportJob.Status.RUNNING or job.worker_id != worker_id:
        raise LostLease
    return job


def lease_advance(
    model: type[ImportJob] | type[ImportUndo], pk: object, worker_id: str, **changes: object
) -> None:
    """Checks the lease, row-locks the job for the caller's transaction and writes its progress
    (`changes`: values or F() expressions) with a new heartbeat, all in one UPDATE: Cancelled
    if it was cancelled (only an import can be), LostLease if another worker holds it. An
    UPDATE that waited for a cancel's lock finds the job no longer running."""
    held = model.objects.filter(pk=pk, status=ImportJob.Status.RUNNING, worker_id=worker_id)
    if held.update(heartbeat_at=timezone.now(), **changes):
        return
    if model.objects.filter(pk=pk, status=ImportJob.Status.CANCELLED).exists():
        raise Cancelled
    raise LostLease


def lease_release(model: type[ImportJob] | type[ImportUndo], pk: object, worker_id: str) -> bool:
    """Hands the job back to the queue (this worker is stopping); its task queues it again.
    False when the job is no longer this worker's to hand back (cancelled, or taken over)."""
    return bool(
        model.objects.filter(pk=pk, worker_id=worker_id, status=ImportJob.Status.RUNNING).update(
            status=ImportJob.Status.QUEUED, worker_id="", heartbeat_at=timezone.now()
        )
    )


def with_db_retries(step: Callable[[], T]) -> T:
    """Runs one step; a lost connection is reopened and the step retried with back-off."""
    for attempt in range(DB_RETRIES + 1):
        try:
            return step()
        except (OperationalError, InterfaceError) as error:
            if attempt == DB_RETRIES:
                raise
            delay = min(2**attempt * 0.5, 10)
            logger.warning(
                "[IMPORT-RETRY] attempt=%s error=%s wait_s=%.1f",
                attempt + 1,
                type(error).__name__,
                delay,
            )
            connection.close()
            time.sleep(delay)
    raise AssertionError("unreachable")
