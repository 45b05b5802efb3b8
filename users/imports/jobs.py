"""Confirming imports and asking for their undo, and keeping the queue honest: jobs and undos
whose worker went quiet are queued again, and stored rows that are no longer kept are deleted.

The running itself is users.imports.run (an import) and users.imports.undo (an undo); the queue
is users.imports.tasks.
"""

import logging
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import status

from users import errors
from users.errors import ApplicationError
from users.imports import mappings, read, selectors
from users.imports.stored_rows import CREATES, StoredRows
from users.imports.tasks import import_job_enqueue, import_undo_enqueue
from users.imports.undo import import_changes
from users.models import ImportJob, ImportRowError, ImportStagedRow, ImportUndo, User

logger = logging.getLogger(__name__)


IMPORT_IN_PROGRESS = "import_in_progress"
IMPORT_NOT_FINISHED = "import_not_finished"


# Throughput used for the estimate returned on confirm (measured: see README, benchmarks).
ESTIMATED_ROWS_PER_SECOND = 5000


def _keyed_job(owner_id: int, idempotency_key: str | None) -> ImportJob | None:
    """The job this owner already made with this Idempotency-Key, if any."""
    if not idempotency_key:
        return None
    return ImportJob.objects.filter(owner_id=owner_id, idempotency_key=idempotency_key).first()


def _active_job_of(owner_id: int) -> ImportJob | None:
    return ImportJob.objects.filter(owner_id=owner_id, status__in=ImportJob.ACTIVE_STATUSES).first()


def _raise_in_progress(active: ImportJob) -> None:
    raise ApplicationError(
        IMPORT_IN_PROGRESS,
        "You already have an import queued or running. Wait for it to finish.",
        status_code=status.HTTP_409_CONFLICT,
        errors={"task_id": str(active.pk), "status": active.status},
    )


def import_job_queue(
    *, job: ImportJob, notify: bool = False, idempotency_key: str | None = None
) -> ImportJob:
    """PARSED -> QUEUED (or straight to COMPLETE when there is nothing to create); columns
    chosen by hand are remembered for the file's headers (users.imports.mappings)."""
    now = timezone.now()
    if job.to_write_count == 0:
        # Nothing to write as `job` was read, and still so in the row the UPDATE takes: a fix
        # of a row (users.imports.fixes, which locks the job) may have made one to write since.
        done = ImportJob.objects.filter(
            pk=job.pk, status=ImportJob.Status.PARSED, to_create_count=0, to_update_count=0
        ).update(
            status=ImportJob.Status.COMPLETE,
            confirmed_at=now,
            started_at=now,
            finished_at=now,
            idempotency_key=idempotency_key,
            message="Nothing to create: every row was invalid or already exists."
            if job.mode == ImportJob.Mode.CREATE
            else "Nothing to write: no row creates or changes a customer.",
        )
        job.refresh_from_db()
        if done:
            mappings.mapping_remember(job=job)
        if done or job.status != ImportJob.Status.PARSED or job.to_write_count == 0:
            return job
    active = _active_job_of(job.owner_id)
    if active is not None and active.pk != job.pk:
        _raise_in_progress(active)
    try:
        with transaction.atomic():
            updated = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.PARSED).update(
                status=ImportJob.Status.QUEUED,
                notify=notify,
                idempotency_key=idempotency_key,
                confirmed_at=now,
                heartbeat_at=now,
            )
            if updated:
                import_job_enqueue(job.pk)
    except IntegrityError:
        # Lost a race: another confirm of this owner, or the same Idempotency-Key, won.
        keyed = _keyed_job(job.owner_id, idempotency_key)
        if keyed is not None:
            return keyed
        active = _active_job_of(job.owner_id)
        if active is not None:
            _raise_in_progress(active)
        raise
    job.refresh_from_db()
    if updated:
        mappings.mapping_remember(job=job)
    logger.info("[IMPORT-CONFIRM] job=%s rows=%s notify=%s", job.pk, job.to_write_count, notify)
    return job


def import_job_confirm(
    *, job_id: UUID | str, user: User, notify: bool = False, idempotency_key: str | None = None
) -> ImportJob:
    """Queues an uploaded job. Confirming twice, or retrying with the same Idempotency-Key,
    returns the same job."""
    keyed = _keyed_job(user.pk, idempotency_key)
    if keyed is not None:
        return keyed
    job = selectors.import_job_get(job_id=job_id, user=user)
    if job is None:
        raise ApplicationError(
            errors.NOT_FOUND, "No such upload.", status_code=status.HTTP_404_NOT_FOUND
        )
    if job.status != ImportJob.Status.PARSED:
        return job
    return import_job_queue(job=job, notify=notify, idempotency_key=idempotency_key)


def _preview_sent_back(*, user: User, records: list[dict[str, Any]]) -> ImportJob | None:
    """The caller's latest preview, when `records` are exactly the unique_candidates its answer
    carried (the same rows with the same values, in order): the SPA's confirm sends them back."""
    job = ImportJob.objects.filter(owner=user).order_by("-created_at", "-pk").first()
    if job is None or job.rows_pruned_at is not None:
        return None
    # The preview's answer lists at most this many (users.imports.reports.preview_response).
    listed = min(job.to_create_count, settings.IMPORT_PREVIEW_LIST_LIMIT)
    if not listed or len(records) != listed:
        return None
    to_create = StoredRows(job.pk, outcomes=CREATES).page(offset=0, limit=listed)
    for record, row in zip(records, to_create, strict=True):
        if record != row.candidate():
            return None
    return job


def import_records_confirm(
    *,
    user: User,
    records: list[dict[str, Any]],
    notify: bool = False,
    idempotency_key: str | None = None,
) -> ImportJob:
    """The legacy body. When it is the caller's latest preview sent back, that preview is
    confirmed, so its counts, history and errors.xlsx cover the whole file (its invalid and
    duplicate rows too); any other list is validated again like an upload, then queued."""
    keyed = _keyed_job(user.pk, idempotency_key)
    if keyed is not None:
        return keyed
    previewed = _preview_sent_back(user=user, records=records)
    if previewed is not None:
        if previewed.status != ImportJob.Status.PARSED:
            return previewed
        return import_job_queue(job=previewed, notify=notify, idempotency_key=idempotency_key)
    active = _active_job_of(user.pk)
    if active is not None:
        _raise_in_progress(active)
    job = read.preview_from_records(owner=user, records=records)
    return import_job_queue(job=job, notify=notify, idempotency_key=idempotency_key)


IMPORT_FINISHED = "import_finished"


def _cancelled_message(job: ImportJob, user: User) -> str:
    who = user.get_full_name() or "an admin"
    if job.status == ImportJob.Status.PARSED:
        return f"Cancelled by {who} before it was confirmed; nothing was changed."
    if job.status == ImportJob.Status.QUEUED and not (job.created_count or job.updated_count):
        return f"Cancelled by {who} before it started; nothing was changed."
    done = [f"{job.created_count:,} of {job.to_create_count:,} customers were created"]
    if job.to_update_count:
        done.append(f"{job.updated_count:,} of {job.to_update_count:,} updated")
    return (
        f"Stopped by {who}: "
        + ", ".join(done)
        + " before it stopped, and are kept"
        + (f"; {job.failed_count:,} failed" if job.failed_count else "")
        + ". The rest were not imported."
    )


def import_job_cancel(*, job: ImportJob, user: User) -> ImportJob:
    """Stops an import: a preview or a queued job at once, a running one after the batch it is
    in (the job's row lock is held for the whole of a batch, so this waits for that batch to
    commit, and the worker's next batch finds the job CANCELLED and stops: users.imports.run).
    What was created stays and is counted. Cancelling a cancelled job returns it as it is; a
    job that completed or failed is a 409. Who may: the job's owner or a super admin (the
    caller's selector hides other jobs)."""
    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().get(pk=job.pk)
        if locked.status == ImportJob.Status.CANCELLED:
            return locked
        if locked.status in ImportJob.FINISHED_STATUSES:
            raise ApplicationError(
                IMPORT_FINISHED,
                f"This import has already finished ({locked.status.lower()}); "
                "there is nothing to stop.",
                status_code=status.HTTP_409_CONFLICT,
                errors={"status": locked.status},
            )
        was = locked.status
        locked.message = _cancelled_message(locked, user)[:500]
        locked.status = ImportJob.Status.CANCELLED
        locked.finished_at = timezone.now()
        locked.save(update_fields=["status", "message", "finished_at", "updated_at"])
    logger.info(
        "[IMPORT-CANCEL] job=%s was=%s by=%s created=%s failed=%s",
        locked.pk,
        was,
        user.pk,
        locked.created_count,
        locked.failed_count,
    )
    return locked


def estimated_seconds(job: ImportJob) -> int:
    return max(1, -(-job.to_write_count // ESTIMATED_ROWS_PER_SECOND))


def import_job_watched(*, job: ImportJob) -> ImportJob:
    """The job as someone watching it should see it: an active job whose worker went quiet is
    queued again first, so polling a job is enough to get it going."""
    if job.status in ImportJob.ACTIVE_STATUSES:
        import_jobs_recover_stale(job_ids=[job.pk])
        job.refresh_from_db()
    return job


def import_jobs_recover_stale(*, job_ids: list[UUID] | None = None) -> int:
    """Queues again every job whose worker went quiet (heartbeat older than IMPORT_STALE_AFTER)
    and every queued job no worker took up; fails jobs that used up IMPORT_MAX_ATTEMPTS.
    Safe to call from any number of processes at once. Returns how many jobs it touched."""
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.IMPORT_STALE_AFTER)
    touched = 0
    stale = ImportJob.objects.filter(
        status__in=ImportJob.ACTIVE_STATUSES, heartbeat_at__lt=stale_before
    )
    if job_ids is not None:
        stale = stale.filter(pk__in=job_ids)
    rows = stale.values_list("pk", "status", "heartbeat_at", "attempts")
    for job_id, job_status, heartbeat_at, attempts in rows:
        same = ImportJob.objects.filter(pk=job_id, status=job_status, heartbeat_at=heartbeat_at)
        if job_status == ImportJob.Status.RUNNING and attempts >= settings.IMPORT_MAX_ATTEMPTS:
            touched += same.update(
                status=ImportJob.Status.FAILED,
                finished_at=now,
                message=f"Stopped after {attempts} attempts; the worker kept going away. "
                "Customers created so far are kept; upload the failed rows again.",
            )
            continue
        with transaction.atomic():
            if same.update(status=ImportJob.Status.QUEUED, worker_id="", heartbeat_at=now):
                touched += 1
                import_job_enqueue(job_id)
                logger.warning(
                    "[IMPORT-RECOVER] job=%s was=%s attempts=%s", job_id, job_status, attempts
                )
    return touched


def import_jobs_prune() -> tuple[int, int]:
    """Deletes previews never confirmed (after IMPORT_KEEP_PREVIEWS_HOURS) and the stored rows
    of finished imports (after IMPORT_KEEP_ROWS_DAYS): a 100,000-row upload keeps tens of MB.
    Returns (previews deleted, imports whose rows were deleted)."""
    now = timezone.now()
    abandoned = ImportJob.objects.filter(
        status=ImportJob.Status.PARSED,
        created_at__lt=now - timedelta(hours=settings.IMPORT_KEEP_PREVIEWS_HOURS),
    )
    previews = abandoned.count()
    abandoned.delete()
    finished = list(
        ImportJob.objects.filter(
            status__in=ImportJob.FINISHED_STATUSES,
            rows_pruned_at__isnull=True,
            finished_at__lt=now - timedelta(days=settings.IMPORT_KEEP_ROWS_DAYS),
        ).values_list("pk", flat=True)
    )
    for job_id in finished:
        with transaction.atomic():
            ImportStagedRow.objects.filter(job_id=job_id).delete()
            ImportRowError.objects.filter(job_id=job_id).delete()
            ImportJob.objects.filter(pk=job_id).update(rows_pruned_at=now)
    if previews or finished:
        logger.info("[IMPORT-PRUNE] previews=%s finished=%s", previews, len(finished))
    return previews, len(finished)


# --- undo ---------------------------------------------------------------------------------------


def import_undo_request(*, job_id: UUID | str, user: User) -> tuple[ImportUndo, bool]:
    """Queues the undo of an import the caller may see (its owner, or a super admin): (the
    undo, whether it was asked for now). Asking again returns the undo already asked for."""
    job = selectors.import_job_get(job_id=job_id, user=user)
    if job is None:
        raise ApplicationError(
            errors.NOT_FOUND, "No such import.", status_code=status.HTTP_404_NOT_FOUND
        )
    existing = ImportUndo.objects.filter(job=job).first()
    if existing is not None:
        if existing.status == ImportJob.Status.FAILED:
            # Asked again after a failure: it goes on from its checkpoint.
            with transaction.atomic():
                ImportUndo.objects.filter(pk=existing.pk, status=ImportJob.Status.FAILED).update(
                    status=ImportJob.Status.QUEUED,
                    attempts=0,
                    worker_id="",
                    finished_at=None,
                    message="",
                    heartbeat_at=timezone.now(),
                )
                import_undo_enqueue(existing.pk)
            existing.refresh_from_db()
            return existing, True
        return existing, False
    if job.status not in ImportJob.FINISHED_STATUSES:
        raise ApplicationError(
            IMPORT_NOT_FINISHED,
            "Only a finished import can be undone; wait for it to finish.",
            status_code=status.HTTP_409_CONFLICT,
            errors={"status": job.status},
        )
    now = timezone.now()
    try:
        with transaction.atomic():
            undo = ImportUndo.objects.create(
                job=job,
                requested_by=user,
                status=ImportJob.Status.QUEUED,
                heartbeat_at=now,
                to_delete_count=User.objects.filter(import_job=job).count(),
                to_restore_count=import_changes(job.pk).count(),
            )
            import_undo_enqueue(undo.pk)
    except IntegrityError:
        # Lost a race with another request for the same undo.
        return ImportUndo.objects.get(job=job), False
    logger.info(
        "[UNDO-QUEUED] job=%s undo=%s delete=%s restore=%s",
        job.pk,
        undo.pk,
        undo.to_delete_count,
        undo.to_restore_count,
    )
    return undo, True


def import_undos_recover_stale(*, undo_ids: list[int] | None = None) -> int:
    """Queues again every undo whose worker went quiet (or that no worker took up); fails those
    that used up IMPORT_MAX_ATTEMPTS. Returns how many it touched."""
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.IMPORT_STALE_AFTER)
    stale = ImportUndo.objects.filter(
        status__in=ImportJob.ACTIVE_STATUSES, heartbeat_at__lt=stale_before
    )
    if undo_ids is not None:
        stale = stale.filter(pk__in=undo_ids)
    touched = 0
    for undo_id, undo_status, heartbeat_at, attempts in stale.values_list(
        "pk", "status", "heartbeat_at", "attempts"
    ):
        same = ImportUndo.objects.filter(pk=undo_id, status=undo_status, heartbeat_at=heartbeat_at)
        if undo_status == ImportJob.Status.RUNNING and attempts >= settings.IMPORT_MAX_ATTEMPTS:
            touched += same.update(
                status=ImportJob.Status.FAILED,
                finished_at=now,
                message=f"Stopped after {attempts} attempts; the worker kept going away.",
            )
            continue
        with transaction.atomic():
            if same.update(status=ImportJob.Status.QUEUED, worker_id="", heartbeat_at=now):
                touched += 1
                import_undo_enqueue(undo_id)
                logger.warning("[UNDO-RECOVER] undo=%s was=%s", undo_id, undo_status)
    return touched
