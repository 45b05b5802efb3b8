"""Running imports.

A job runs in batches. Each batch is one transaction that inserts its customers in one
statement (COPY on Postgres, one prepared INSERT for every row on SQLite), updates the customers
its rows matched in one more (UPDATE ... FROM (VALUES ...) on Postgres, one prepared UPDATE for
every row on SQLite) with a CustomerChange for each, and advances the job's checkpoint, so a
worker killed at any instant leaves every batch either fully in or fully out, and the next
worker resumes at the checkpoint. A batch the database rejects (a customer taken
since the preview) is redone one customer per transaction, each also advancing the checkpoint,
so that customer fails alone.

Only the worker holding the claim (job.worker_id) may advance a job: every batch re-reads the job
under a row lock and stops if the claim moved (a worker that went quiet longer than
IMPORT_STALE_AFTER loses its job to the next one).

Nothing here queues anything: the task that runs a job (users.imports.tasks) says what happens
after a batch commits (on_created) and queues a released job again.
"""

import json
import logging
import secrets
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from functools import partial

import psutil
from django.conf import settings
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db import (
    DatabaseError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    connection,
    transaction,
)
from django.db.models import F, Q
from django.utils import timezone

from users.customers import roles, selectors, services
from users.customers.rules import CUSTOMER_FIELDS
from users.imports import bulk, pipeline
from users.models import CustomerChange, ImportJob, ImportRowError, ImportUndo, Role, User

logger = logging.getLogger(__name__)

OnCreated = Callable[[list[int]], None]


REJECTED = "rejected"
CUSTOMER_GONE = "customer_deleted"


DB_RETRIES = 5


class LostClaim(Exception):
    """Another worker took the job over, or it was cancelled: stop without touching it."""


class Cancelled(LostClaim):
    """The job was cancelled (users.imports.jobs.import_job_cancel): stop before the next batch."""


def claim(model: type[ImportJob] | type[ImportUndo], pk, worker_id: str) -> bool:
    """Takes the job (an import, or an undo: `model`) if it is queued, or running with a stale
    heartbeat: one conditional UPDATE, so two workers never both take it."""
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.IMPORT_STALE_AFTER)
    claimable = Q(status=ImportJob.Status.QUEUED) | Q(
        Q(heartbeat_at__lt=stale_before) | Q(heartbeat_at__isnull=True),
        status=ImportJob.Status.RUNNING,
    )
    taken = (
        model.objects.filter(claimable, pk=pk).update(
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


def claimed(model: type[ImportJob] | type[ImportUndo], pk, worker_id: str):
    """The job (an import, or an undo: `model`), row-locked for this transaction, if this
    worker still holds its claim: Cancelled if it was cancelled (only an import can be),
    LostClaim if another worker holds it."""
    job = model.objects.select_for_update().get(pk=pk)
    if job.status == ImportJob.Status.CANCELLED:
        raise Cancelled
    if job.status != ImportJob.Status.RUNNING or job.worker_id != worker_id:
        raise LostClaim
    return job


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


class StoredRows:
    """A job's stored rows from any index on, one chunk in memory at a time; the chunk the last
    batch ended in is kept, so batches that share a chunk read and decode it once."""

    def __init__(self, job_id, *, total: int):
        self.job_id = job_id
        self.total = total
        self._index: int | None = None
        self._rows: list = []

    def _chunk(self, index: int) -> list:
        if index != self._index:
            self._rows = pipeline.chunk_rows(self.job_id, index) or []
            self._index = index
        return self._rows

    def starting_at(self, start: int) -> Iterator[tuple[int, list]]:
        """(index, stored row) from `start` on."""
        for index in range(start, self.total):
            offset = index % pipeline.CHUNK_ROWS
            rows = self._chunk(index // pipeline.CHUNK_ROWS)
            if offset >= len(rows):
                return  # rows deleted under a running job: nothing more to read
            yield index, rows[offset]


def _next_batch(stored: StoredRows, start: int, size: int) -> tuple[list[tuple[int, list]], int]:
    """Up to `size` rows to write (create or update) from `start`, and the index just after the
    last row read."""
    batch: list[tuple[int, list]] = []
    end = start
    for index, row in stored.starting_at(start):
        end = index + 1
        if row[1] in pipeline.TO_WRITE:
            batch.append((index, row))
            if len(batch) == size:
                break
    return batch, end


def _unusable_password() -> str:
    """What make_password(None) returns ("!" and random text: no hash, no shared secret), made
    with one call to the OS's random source instead of forty: 1 us instead of 24 us a row."""
    return UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(30)


def _customer(job: ImportJob, row: list, now) -> User:
    values = pipeline.row_values(row)
    return User(
        **values,
        user_role=Role.CUSTOMER,
        password=_unusable_password(),
        created_by_id=job.owner_id,
        import_job_id=job.pk,
        source_row=row[0],
        date_joined=now,
    )


_ROW_FIELDS = ("password", *CUSTOMER_FIELDS, "source_row")
_DEFAULTS = [User._meta.get_field(name).get_default() for name in CUSTOMER_FIELDS]


def _stored_values(row: list) -> list:
    """A stored row's values in CUSTOMER_FIELDS order. Rows stored before a field was added (a
    preview made before an upgrade) hold fewer: the missing fields take the model's default."""
    values = row[3]
    if len(values) < len(CUSTOMER_FIELDS):
        return [*values, *_DEFAULTS[len(values) :]]
    return values


def _insert_batch(job: ImportJob, batch: list[tuple[int, list]], now) -> None:
    """The whole batch in one statement (users.imports.bulk: COPY on Postgres, one prepared
    INSERT for every row on SQLite), no model instances; IntegrityError if the database refuses
    any row. What is the same for every row (role, flags, owner, job, date joined) comes from
    one customer built as bulk_create would build it.

    On SQLite bulk_create took 180-250 ms a 1,000-row batch, with Django's 52 rows a statement
    or with statements as large as SQLite allows alike, against 40 ms here (measured)."""
    model = _customer(job, batch[0][1], now)
    shared = {
        field.name: getattr(model, field.attname)
        for field in User._meta.concrete_fields
        if not field.primary_key and field.name not in _ROW_FIELDS
    }
    rows = [(_unusable_password(), *_stored_values(row), row[0]) for _, row in batch]
    bulk.insert_rows(User, fields=_ROW_FIELDS, rows=rows, shared=shared)


def _record_failure(
    job: ImportJob, position: int, row: list, user: User, *, exclude_id: int | None = None
) -> None:
    values = {field: getattr(user, field) for field in selectors.UNIQUE_FIELDS}
    clashes = selectors.Clashes([values], exclude_id=exclude_id)
    problems = services.duplicate_problems(values, clashes.of(values))
    if not problems:
        ImportRowError.objects.create(
            job=job,
            row=row[0],
            position=position,
            code=REJECTED,
            message="The database refused this row.",
            at_run=True,
        )
        return
    ImportRowError.objects.bulk_create(
        ImportRowError(
            job=job,
            row=row[0],
            position=position,
            field=p.field,
            code=p.code,
            message=p.message,
            value=str(p.value)[:300],
            at_run=True,
        )
        for p in problems
    )


def _insert_one(job: ImportJob, position: int, row: list, user: User) -> bool:
    """Inserts one customer in a savepoint; False (and the reason recorded) if refused."""
    for attempt in range(2):
        try:
            with transaction.atomic():
                user.save(force_insert=True)
            return True
        except IntegrityError:
            if User.objects.filter(import_job_id=job.pk, source_row=row[0]).exists():
                return True  # stored by an earlier attempt of this job
            mark_taken = selectors.shipping_marks_taken(marks=[user.shipping_mark])
            if attempt == 0 and row[4] and mark_taken:
                # The mark was ours to choose: choose another rather than fail the row.
                user.shipping_mark = services.shipping_mark_generate(first_name=user.first_name)
                user.pk = None
                continue
            break
    user.pk = None
    _record_failure(job, position, row, user)
    return False


def _invite_after_commit(job: ImportJob, source_rows: list[int], on_created: OnCreated | None):
    if job.notify and source_rows and on_created is not None:
        transaction.on_commit(partial(on_created, source_rows))


_CHANGE_FIELDS = ("customer", "source_row", "fields")
_GONE = roles.Refusal(
    CUSTOMER_GONE, "", "The customer this row matched was deleted after the preview."
)


class _Updates:
    """What the update rows of one batch do: the customers' rows as they will be, the changes
    to record, and the rows found unchanged, or not written: their customer is gone, or the
    import may no longer write to it (roles.import_refusal, decided on the locked rows: the
    account may have been made staff, or its holder may have set a password, since the
    preview)."""

    def __init__(self, job: ImportJob, batch: list[tuple[int, list]]):
        ids = [pipeline.matched_customer(row) for _, row in batch]
        # Locked: nobody changes them between this read and the UPDATE, so `old` is true and
        # the rule is decided on what the UPDATE writes to.
        current = selectors.customer_fields_of(ids=ids, lock=True)
        # The customers' rows as they will be, and the fields any of them changes: the UPDATE
        # sets only those columns (a file mostly changes the same few fields of every row).
        self.rows: list[dict] = []
        self.fields: set[str] = set()
        self.changes: list[tuple] = []
        self.unchanged = 0
        self.not_written: list[tuple[int, list, roles.Refusal]] = []
        for (index, row), customer_id in zip(batch, ids, strict=True):
            account = current.get(customer_id)
            if account is None:
                self.not_written.append((index, row, _GONE))
                continue
            stored = account.fields
            fields = {
                name: {"old": stored[name], "new": new}
                for name, _old, new in pipeline.changes_of(row)
                if stored[name] != new
            }
            refusal = roles.import_refusal(account.target, match=job.match, fields=fields)
            if refusal is not None:
                self.not_written.append((index, row, refusal))
                continue
            if not fields:
                self.unchanged += 1
                continue
            self.rows.append(
                {"id": customer_id, **stored, **{name: c["new"] for name, c in fields.items()}}
            )
            self.fields.update(fields)
            self.changes.append((customer_id, row[0], json.dumps(fields)))

    def write(self, job: ImportJob, now) -> None:
        names = [name for name in CUSTOMER_FIELDS if name in self.fields]
        rows = [(final["id"], *(final[name] for name in names)) for final in self.rows]
        bulk.update_rows(User, fields=names, rows=rows)
        if self.changes:
            bulk.insert_rows(
                CustomerChange,
                fields=_CHANGE_FIELDS,
                rows=self.changes,
                shared={
                    "import_job": job.pk,
                    "source": CustomerChange.Source.IMPORT,
                    "changed_by": job.owner_id,
                    "changed_at": now,
                },
            )
        for index, row, refusal in self.not_written:
            ImportRowError.objects.create(
                job=job,
                row=row[0],
                position=index,
                field=refusal.field,
                code=refusal.code,
                message=refusal.message,
                at_run=True,
            )


def _update_one(job: ImportJob, index: int, row: list, now) -> str:
    """Updates one customer in a savepoint: "updated", "unchanged" or "failed" (the reason
    recorded)."""
    try:
        with transaction.atomic():
            updates = _Updates(job, [(index, row)])
            updates.write(job, now)
    except IntegrityError:
        customer_id = pipeline.matched_customer(row)
        values = {name: new for name, _old, new in pipeline.changes_of(row)}
        user = User(**{name: values.get(name) for name in selectors.UNIQUE_FIELDS})
        _record_failure(job, index, row, user, exclude_id=customer_id)
        return "failed"
    if updates.not_written:
        return "failed"
    return "unchanged" if updates.unchanged else "updated"


def _run_batch(
    job_id,
    worker_id: str,
    batch: list[tuple[int, list]],
    end: int,
    on_created: OnCreated | None = None,
) -> tuple[int, int, int]:
    """Writes one batch; returns (created, updated, failed)."""
    now = timezone.now()
    creates = [(index, row) for index, row in batch if row[1] == pipeline.CREATE]
    updates = [(index, row) for index, row in batch if row[1] == pipeline.UPDATE]
    try:
        with transaction.atomic():
            job = claimed(ImportJob, job_id, worker_id)
            if creates:
                _insert_batch(job, creates, now)
            changed = _Updates(job, updates)
            changed.write(job, now)
            _advance(
                job,
                checkpoint=end,
                created=len(creates),
                updated=len(changed.rows),
                unchanged=changed.unchanged,
                failed=len(changed.not_written),
            )
            _invite_after_commit(job, [row[0] for _, row in creates], on_created)
        return len(creates), len(changed.rows), len(changed.not_written)
    except IntegrityError:
        pass
    created = updated = failed = 0
    for index, row in batch:
        with transaction.atomic():
            job = claimed(ImportJob, job_id, worker_id)
            if job.checkpoint > index:
                continue  # done before a retry of this batch
            if row[1] == pipeline.UPDATE:
                outcome = _update_one(job, index, row, now)
                updated += outcome == "updated"
                failed += outcome == "failed"
                _advance(
                    job,
                    checkpoint=index + 1,
                    updated=int(outcome == "updated"),
                    unchanged=int(outcome == "unchanged"),
                    failed=int(outcome == "failed"),
                )
            elif _insert_one(job, index, row, _customer(job, row, now)):
                created += 1
                _advance(job, checkpoint=index + 1, created=1)
                _invite_after_commit(job, [row[0]], on_created)
            else:
                failed += 1
                _advance(job, checkpoint=index + 1, failed=1)
    with transaction.atomic():
        _advance(claimed(ImportJob, job_id, worker_id), checkpoint=end)
    return created, updated, failed


def _rss_mb() -> float:
    return psutil.Process().memory_info().rss / 1024 / 1024


def _finish(job_id, worker_id: str) -> ImportJob:
    with transaction.atomic():
        job = claimed(ImportJob, job_id, worker_id)
        job.status = ImportJob.Status.COMPLETE
        job.finished_at = timezone.now()
        job.message = (
            f"Created {job.created_count:,} of {job.to_create_count:,} customers"
            + (
                f"; updated {job.updated_count:,} of {job.to_update_count:,}"
                if job.mode != ImportJob.Mode.CREATE
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


def _fail(job_id, worker_id: str, message: str) -> None:
    ImportJob.objects.filter(pk=job_id, worker_id=worker_id).exclude(
        status__in=ImportJob.FINISHED_STATUSES
    ).update(status=ImportJob.Status.FAILED, finished_at=timezone.now(), message=message[:500])


def _release(job_id, worker_id: str) -> bool:
    """Hands the job back to the queue (this worker is stopping); its task queues it again.
    False when the job is no longer this worker's to hand back (cancelled, or taken over)."""
    return bool(
        ImportJob.objects.filter(
            pk=job_id, worker_id=worker_id, status=ImportJob.Status.RUNNING
        ).update(status=ImportJob.Status.QUEUED, worker_id="", heartbeat_at=timezone.now())
    )


def with_db_retries(step: Callable[[], object]) -> object:
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


def _step(
    job_id,
    worker_id: str,
    batch_size: int,
    stored: StoredRows,
    on_created: OnCreated | None = None,
) -> tuple[int, int, int, int, int] | None:
    """One batch from the job's checkpoint: (rows, created, updated, failed, new checkpoint), or
    None when no row is left. Safe to retry: it starts again from whatever checkpoint was
    committed."""
    checkpoint = ImportJob.objects.values_list("checkpoint", flat=True).get(pk=job_id)
    batch, end = _next_batch(stored, checkpoint, batch_size)
    if not batch and end == checkpoint:
        return None
    if not batch:
        # Only rows that need no insert were left: move past them.
        with transaction.atomic():
            _advance(claimed(ImportJob, job_id, worker_id), checkpoint=end)
        return 0, 0, 0, 0, end
    created, updated, failed = _run_batch(job_id, worker_id, batch, end, on_created)
    return len(batch), created, updated, failed, end


def _next_batch_size(job_id, batch_size: int) -> int:
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


def import_job_run(
    *,
    job_id,
    worker_id: str,
    should_stop: Callable[[], bool] = lambda: False,
    on_created: OnCreated | None = None,
) -> str:
    """Runs the job from its checkpoint to the end. Returns what happened: "complete",
    "not_claimed", "lost_claim", "cancelled" (found cancelled before a batch: it stays so),
    "released" (asked to stop: the job is QUEUED again for the caller to queue) or "failed".
    With notify on, on_created(source rows) is called after each batch commits."""
    if not with_db_retries(partial(claim, ImportJob, job_id, worker_id)):
        logger.info("[IMPORT-SKIP] job=%s reason=not_claimable", job_id)
        return "not_claimed"
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
    stored = StoredRows(job_id, total=job.total_rows)
    try:
        while True:
            if should_stop():
                if not with_db_retries(partial(_release, job_id, worker_id)):
                    raise LostClaim
                logger.info("[IMPORT-RELEASE] job=%s worker=%s", job_id, worker_id)
                return "released"
            batch_started = time.monotonic()
            step = with_db_retries(
                partial(_step, job_id, worker_id, batch_size, stored, on_created)
            )
            if step is None:
                break
            rows, created, updated, failed, checkpoint = step
            batches += 1
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
                (time.monotonic() - batch_started) * 1000,
                f" rss_mb={_rss_mb():.0f}" if batches % 10 == 0 else "",
            )
            batch_size = _next_batch_size(job_id, batch_size)
        job = with_db_retries(partial(_finish, job_id, worker_id))
        _analyze_after_bulk_load(job)
    except Cancelled:
        logger.info("[IMPORT-CANCELLED] job=%s worker=%s batches=%s", job_id, worker_id, batches)
        return "cancelled"
    except LostClaim:
        if ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.CANCELLED).exists():
            logger.info(
                "[IMPORT-CANCELLED] job=%s worker=%s batches=%s", job_id, worker_id, batches
            )
            return "cancelled"
        logger.warning("[IMPORT-LOST] job=%s worker=%s", job_id, worker_id)
        return "lost_claim"
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
        return "failed"
    logger.info(
        "[IMPORT-DONE] job=%s created=%s updated=%s failed=%s skipped=%s ms=%d rss_mb=%.0f",
        job_id,
        job.created_count,
        job.updated_count,
        job.failed_count,
        job.skipped_count,
        (time.monotonic() - started) * 1000,
        _rss_mb(),
    )
    return "complete"
