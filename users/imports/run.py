"""Running imports.

A job runs in batches of its staged rows (users.imports.stored_rows). Each batch is one
transaction that checks the lease and advances the job's checkpoint, progress and heartbeat in
one UPDATE, inserts its customers in one more (INSERT ... SELECT from the staged rows), and
updates the customers its rows matched (UPDATE ... FROM (VALUES ...) on Postgres, one prepared
UPDATE for every row on SQLite) with a CustomerChange for each, so a worker killed at any
instant leaves every batch either fully in or fully out, and the next worker resumes at the
checkpoint. A batch the database rejects (a customer taken
since the preview) is redone one customer per transaction, each also advancing the checkpoint,
so that customer fails alone.

Only the worker holding the lease (users.imports.leases) may advance a job: every batch re-reads
the job under a row lock and stops if the lease moved (a worker that went quiet longer than
IMPORT_STALE_AFTER loses its job to the next one).

Nothing here queues anything: the task that runs a job (users.imports.tasks) says what happens
after a batch commits (on_created) and queues a released job again.
"""

import logging
import time
from collections.abc import Callable
from functools import partial
from uuid import UUID

import psutil
from django.conf import settings
from django.db import (
    DatabaseError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    connection,
    transaction,
)
from django.db.models import F
from django.utils import timezone

from users.imports.leases import (
    Cancelled,
    LostLease,
    RunOutcome,
    lease_advance,
    lease_release,
    lease_take,
    leased,
    with_db_retries,
)
from users.imports.stored_rows import Outcome, StoredRow, StoredRows, batch_plan
from users.imports.writes import (
    UpdateOutcome,
    Updates,
    customer_of,
    insert_one,
    insert_staged,
    update_one,
)
from users.models import ImportJob, User

logger = logging.getLogger(__name__)

OnCreated = Callable[[list[int]], None]
# A job's key: a UUID, or its text as a task is given it.
JobId = UUID | str


def _advance(
    job: ImportJob,
    *,
    checkpoint: int,
    created: int = 0,
    failed: int = 0,
    updated: int = 0,
    unchanged: int = 0,
) -> None:
    job.checkpoint = checkpoint
    job.created_count += created
    job.failed_count += failed
    job.updated_count += updated
    job.run_unchanged_count += unchanged
    job.heartbeat_at = timezone.now()
    job.save(
        update_fields=[
            "checkpoint",
            "created_count",
            "failed_count",
            "updated_count",
            "run_unchanged_count",
            "heartbeat_at",
            "updated_at",
        ]
    )


def _invite_after_commit(
    job: ImportJob, source_rows: list[int], on_created: OnCreated | None
) -> None:
    if job.notify and source_rows and on_created is not None:
        transaction.on_commit(partial(on_created, source_rows))


def _run_batch(
    job: ImportJob,
    worker_id: str,
    plan: list[tuple[int, Outcome]],
    span: tuple[int, int],
    on_created: OnCreated | None = None,
) -> tuple[int, int, int]:
    """Writes the rows of `plan` (those to write from `span`'s start to its end, not
    included); returns (created, updated, failed). `job` is the job as the run began: what
    does not change while it runs (owner, match, notify)."""
    now = timezone.now()
    start, end = span
    creates = sum(outcome == Outcome.CREATE for _, outcome in plan)
    updates: list[StoredRow] = []
    if creates < len(plan):
        # Read by the range of the staging table's key (an IN list of positions cost twice).
        for page in StoredRows(job.pk, outcomes=[Outcome.UPDATE]).pages(start=start, end=end):
            updates += page
    try:
        with transaction.atomic():
            changed = Updates(job, updates)
            lease_advance(
                ImportJob,
                job.pk,
                worker_id,
                checkpoint=end,
                created_count=F("created_count") + creates,
                updated_count=F("updated_count") + len(changed.rows),
                run_unchanged_count=F("run_unchanged_count") + changed.unchanged,
                failed_count=F("failed_count") + len(changed.not_written),
            )
            created = insert_staged(job, start=start, end=end, now=now) if creates else []
            changed.write(job, now)
            _invite_after_commit(job, created, on_created)
        return len(created), len(changed.rows), len(changed.not_written)
    except IntegrityError:
        pass
    rows = StoredRows(job.pk).at(position for position, _ in plan)
    return _run_one_by_one(job.pk, worker_id, rows, end, on_created)


def _run_one_by_one(
    job_id: JobId, worker_id: str, rows: list[StoredRow], end: int, on_created: OnCreated | None
) -> tuple[int, int, int]:
    """A batch the database refused, redone one customer per transaction (each advancing the
    checkpoint past its row), so that only the customer at fault fails."""
    now = timezone.now()
    created = updated = failed = 0
    for row in rows:
        with transaction.atomic():
            job = leased(ImportJob, job_id, worker_id)
            if job.checkpoint > row.position:
                continue  # done before a retry of this batch
            if row.outcome == Outcome.UPDATE:
                outcome = update_one(job, row, now)
                updated += outcome == UpdateOutcome.UPDATED
                failed += outcome == UpdateOutcome.FAILED
                _advance(
                    job,
                    checkpoint=row.position + 1,
                    updated=int(outcome == UpdateOutcome.UPDATED),
                    unchanged=int(outcome == UpdateOutcome.UNCHANGED),
                    failed=int(outcome == UpdateOutcome.FAILED),
                )
            elif insert_one(job, row, customer_of(job, row, now)):
                created += 1
                _advance(job, checkpoint=row.position + 1, created=1)
                _invite_after_commit(job, [row.source_row], on_created)
            else:
                failed += 1
                _advance(job, checkpoint=row.position + 1, failed=1)
    with transaction.atomic():
        _advance(leased(ImportJob, job_id, worker_id), checkpoint=end)
    return created, updated, failed


def _rss_mb() -> float:
    return psutil.Process().memory_info().rss / 1024 / 1024


def _finish(job_id: JobId, worker_id: str) -> ImportJob:
    with transaction.atomic():
        job = leased(ImportJob, job_id, worker_id)
        job.status = ImportJob.Status.COMPLETE
        job.finished_at = timezone.now()
        job.message = (
            f"Created {job.created_count:,} of {job.to_create_count:,} customers"
            + (
                f"; updated {job.updated_count:,} of {job.to_update_count:,}"
                if job.mode != ImportJob.Mode.CREATE or job.to_update_count
                else ""
            )
            + (f"; {job.failed_count:,} failed" if job.failed_count else "")
            + (f"; {job.skipped_count:,} rows skipped" if job.skipped_count else "")
            + "."
        )
        job.save(update_fields=["status", "finished_at", "message", "heartbeat_at", "updated_at"])
    return job


# Customers created by one import after which Postgres's statistics are refreshed at once, if
# they are also at least ANALYZE_GROWTH of the rows the statistics know of.
ANALYZE_AFTER_ROWS = 1000
ANALYZE_GROWTH = 0.1


def _analyze_after_bulk_load(job: ImportJob) -> None:
    """ANALYZE the customers' table after an import that grew it by a meaningful fraction, as
    after any bulk load. Until autovacuum gets round to it, the planner knows nothing of the
    new rows: measured, a 100,000-row preview into a table it believed empty scanned the whole
    table for each email lookup (130 ms each instead of 1, 30 s in all). An import that adds
    less than ANALYZE_GROWTH of what the statistics know changes the planner's picture little
    (autovacuum's own threshold is the same 10 %), and ANALYZE's cost grows with the table:
    0.4-0.6 s at 100,000 customers and 0.8-1.1 s at 1,000,000 on a busy 2-core machine, more
    than the rest of a 10,000-row run. ANALYZE reads a sample, takes no lock that blocks reads
    or writes, and a failure only leaves it to autovacuum."""
    if connection.vendor != "postgresql" or job.created_count < ANALYZE_AFTER_ROWS:
        return
    table = connection.ops.quote_name(User._meta.db_table)
    try:
        with connection.cursor() as cursor:
            # reltuples: the rows the statistics know of (-1: never analysed).
            cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
            known = max(cursor.fetchone()[0], 0)
            if job.created_count < ANALYZE_GROWTH * known:
                return
            cursor.execute(f"ANALYZE {table}")
    except DatabaseError as error:
        logger.warning("[IMPORT-ANALYZE] job=%s error=%s", job.pk, type(error).__name__)


def _fail(job_id: JobId, worker_id: str, message: str) -> None:
    ImportJob.objects.filter(pk=job_id, worker_id=worker_id).exclude(
        status__in=ImportJob.FINISHED_STATUSES
    ).update(status=ImportJob.Status.FAILED, finished_at=timezone.now(), message=message[:500])


def _step(
    job: ImportJob, worker_id: str, batch_size: int, on_created: OnCreated | None = None
) -> tuple[int, int, int, int, int] | None:
    """One batch from the job's checkpoint: (rows, created, updated, failed, new checkpoint), or
    None when no row is left. Safe to retry: it starts again from whatever checkpoint was
    committed."""
    checkpoint = ImportJob.objects.values_list("checkpoint", flat=True).get(pk=job.pk)
    plan = batch_plan(job.pk, start=checkpoint, size=batch_size)
    # The batch ends after its last row, or, when fewer rows than a batch are left to write,
    # after the last row of the file.
    end = plan[-1][0] + 1 if len(plan) == batch_size else job.total_rows
    if end <= checkpoint:
        return None
    if not plan:
        # Only rows that need no write were left: move past them.
        with transaction.atomic():
            lease_advance(ImportJob, job.pk, worker_id, checkpoint=end)
        return 0, 0, 0, 0, end
    created, updated, failed = _run_batch(job, worker_id, plan, (checkpoint, end), on_created)
    return len(plan), created, updated, failed, end


def _next_batch_size(job_id: JobId, batch_size: int) -> int:
    """Halves the batch size (down to 50) while the process is above the memory ceiling."""
    rss = _rss_mb()
    if rss <= settings.IMPORT_MEMORY_CEILING_MB or batch_size <= 50:
        return batch_size
    smaller = max(50, batch_size // 2)
    logger.warning(
        "[IMPORT-MEMORY] job=%s rss_mb=%.0f ceiling_mb=%s batch_size=%s",
        job_id,
        rss,
        settings.IMPORT_MEMORY_CEILING_MB,
        smaller,
    )
    return smaller


def _log_batch(
    job_id: object, batches: int, step: tuple[int, int, int, int, int], started: float
) -> None:
    rows, created, updated, failed, checkpoint = step
    logger.info(
        "[IMPORT-BATCH] job=%s batch=%s rows=%s created=%s updated=%s failed=%s "
        "checkpoint=%s ms=%d%s",
        job_id,
        batches,
        rows,
        created,
        updated,
        failed,
        checkpoint,
        (time.monotonic() - started) * 1000,
        f" rss_mb={_rss_mb():.0f}" if batches % 10 == 0 else "",
    )


def _log_done(job: ImportJob, started: float) -> None:
    logger.info(
        "[IMPORT-DONE] job=%s created=%s updated=%s failed=%s skipped=%s ms=%d rss_mb=%.0f",
        job.pk,
        job.created_count,
        job.updated_count,
        job.failed_count,
        job.skipped_count,
        (time.monotonic() - started) * 1000,
        _rss_mb(),
    )


def _lost(job_id: JobId, worker_id: str, batches: int) -> RunOutcome:
    """The lease moved mid-run: the job was cancelled (a cancel takes the lease), or another
    worker took it over."""
    if ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.CANCELLED).exists():
        logger.info("[IMPORT-CANCELLED] job=%s worker=%s batches=%s", job_id, worker_id, batches)
        return RunOutcome.CANCELLED
    logger.warning("[IMPORT-LOST] job=%s worker=%s", job_id, worker_id)
    return RunOutcome.LOST_LEASE


def import_job_run(
    *,
    job_id: JobId,
    worker_id: str,
    should_stop: Callable[[], bool] = lambda: False,
    on_created: OnCreated | None = None,
) -> RunOutcome:
    """Runs the job from its checkpoint to the end, and says what it came to (RunOutcome).
    With notify on, on_created(source rows) is called after each batch commits."""
    if not with_db_retries(partial(lease_take, ImportJob, job_id, worker_id)):
        logger.info("[IMPORT-SKIP] job=%s reason=not_claimable", job_id)
        return RunOutcome.NOT_TAKEN
    started = time.monotonic()
    job = ImportJob.objects.get(pk=job_id)
    batch_size = settings.IMPORT_BATCH_SIZE
    logger.info(
        "[IMPORT-START] job=%s worker=%s attempt=%s checkpoint=%s rows=%s rss_mb=%.0f",
        job_id,
        worker_id,
        job.attempts,
        job.checkpoint,
        job.to_write_count,
        _rss_mb(),
    )
    batches = 0
    try:
        while True:
            if should_stop():
                if not with_db_retries(partial(lease_release, ImportJob, job_id, worker_id)):
                    raise LostLease
                logger.info("[IMPORT-RELEASE] job=%s worker=%s", job_id, worker_id)
                return RunOutcome.RELEASED
            batch_started = time.monotonic()
            step = with_db_retries(partial(_step, job, worker_id, batch_size, on_created))
            if step is None:
                break
            batches += 1
            _log_batch(job_id, batches, step, batch_started)
            batch_size = _next_batch_size(job_id, batch_size)
        job = with_db_retries(partial(_finish, job_id, worker_id))
        _analyze_after_bulk_load(job)
    except Cancelled:
        logger.info("[IMPORT-CANCELLED] job=%s worker=%s batches=%s", job_id, worker_id, batches)
        return RunOutcome.CANCELLED
    except LostLease:
        return _lost(job_id, worker_id, batches)
    except (OperationalError, InterfaceError):
        # The database stayed away through every retry: the job keeps its checkpoint, and its
        # heartbeat going stale gets it taken up again (jobs.import_jobs_recover_stale).
        logger.exception("[IMPORT-DB-DOWN] job=%s worker=%s", job_id, worker_id)
        raise
    except Exception:
        logger.exception("[IMPORT-ERROR] job=%s worker=%s", job_id, worker_id)
        _fail(
            job_id,
            worker_id,
            "The import stopped on an internal error. Customers created so far are kept; "
            "download the failed rows and upload them again.",
        )
        return RunOutcome.FAILED
    _log_done(job, started)
    return RunOutcome.COMPLETE
