"""Reading a running or finished job back: its status and progress, its undo's, and the rows
that were not created (the status's first ones, errors.xlsx's every one)."""

import math
from collections.abc import Iterator
from typing import Any

from users.customers import selectors
from users.imports import parse
from users.imports.jobs import estimated_seconds
from users.imports.preview_columns import column_names
from users.imports.reports import (
    STATUS_LIST_LIMIT,
    errors_by_row,
    job_row_errors,
    raw_data,
    reason,
)
from users.imports.stored_rows import NOT_WRITTEN, StoredRow, StoredRows
from users.models import ImportJob, ImportRowError, User


def progress_percent(job: ImportJob) -> int:
    if job.status == ImportJob.Status.COMPLETE:
        return 100
    if not job.to_write_count:
        return 0
    done = job.created_count + job.updated_count + job.run_unchanged_count + job.failed_count
    # 100 only once the job is complete, so a client never stops polling early.
    return min(99, math.floor(done * 100 / job.to_write_count))


def not_created_rows(job: ImportJob) -> Iterator[tuple[StoredRow, list[ImportRowError]]]:
    """Every row of the upload that was not created, with its reasons, in file order: invalid,
    duplicates, and rows that failed while running (only when some did are the rows written
    read too)."""
    failed_at_run = ImportRowError.objects.filter(job=job, at_run=True).exists()
    stored = StoredRows(job.pk, outcomes=None if failed_at_run else NOT_WRITTEN)
    for rows in stored.pages():
        errors = errors_by_row(job, {row.source_row for row in rows})
        for row in rows:
            row_errors = errors.get(row.source_row, [])
            if row.outcome in NOT_WRITTEN or any(e.at_run for e in row_errors):
                yield row, row_errors


def first_not_created(job: ImportJob, limit: int) -> list[tuple[StoredRow, list[ImportRowError]]]:
    """The first `limit` rows not created, with their reasons, reading only those rows (a status
    poll must stay cheap while a 100,000-row job runs). Every row not created has
    at least one ImportRowError, which says where the row is."""
    positions = list(
        ImportRowError.objects.filter(job=job)
        .order_by("position")
        .values_list("position", flat=True)
        .distinct()[:limit]
    )
    if not positions:
        return []
    rows = StoredRows(job.pk).at(positions)
    errors = errors_by_row(job, {row.source_row for row in rows})
    return [(row, errors.get(row.source_row, [])) for row in rows]


def job_status(job: ImportJob, *, viewer: User) -> dict[str, object]:
    """The status endpoint's answer (field names as the SPA reads them), for `viewer`: who
    undid it only if they may see them (roles.visible)."""
    finished = job.status in ImportJob.FINISHED_STATUSES
    failed_rows = [
        {
            "row": row.source_row,
            "reason": reason(row_errors),
            "codes": sorted({e.code for e in row_errors}),
            "data": raw_data(job, row.raw),
        }
        for row, row_errors in first_not_created(job, STATUS_LIST_LIMIT)
    ]
    errors = [f"Row {e.row}: {reason([e])}" for e in job_row_errors(job)[:STATUS_LIST_LIMIT]]
    not_created = job.skipped_count + job.failed_count
    return {
        "task_id": str(job.pk),
        "status": job.status,
        "success": job.status != ImportJob.Status.FAILED,
        "message": job.message or _running_message(job),
        "mode": job.mode,
        "match": job.match,
        "created": job.created_count,
        "updated": job.updated_count,
        "unchanged": job.unchanged_count + job.run_unchanged_count,
        "failed": job.failed_count,
        "skipped": job.skipped_count,
        "total_customers": job.to_create_count,
        "total_updates": job.to_update_count,
        "total_rows": job.total_rows,
        "progress_percent": progress_percent(job),
        "errors": errors,
        "errors_total": job_row_errors(job).count(),
        "failed_rows": failed_rows,
        "failed_rows_total": not_created,
        "sms_sent": job.sms_sent_count,
        "sms_failed": job.sms_failed_count,
        "estimated_time_seconds": estimated_seconds(job),
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "updated_at": job.updated_at,
        "is_complete": job.status == ImportJob.Status.COMPLETE,
        "is_failed": job.status in (ImportJob.Status.FAILED, ImportJob.Status.CANCELLED),
        "is_finished": finished,
        "rows_kept": job.rows_pruned_at is None,
        "undone_at": job.undone_at,
        "undone_by": _shown(viewer, job.undone_by_id),
        "undo": undo_status(job, viewer=viewer),
    }


def _shown(viewer: User, user_id: int | None) -> int | None:
    """`user_id` if `viewer` may see that user (roles.visible), else None."""
    return user_id if user_id in selectors.visible_ids(actor=viewer, ids=[user_id]) else None


def undo_status(job: ImportJob, *, viewer: User) -> dict[str, object] | None:
    """The undo of the job, if one was asked for: its progress and counts, and the first
    customers it kept as they were (with why), for `viewer`: a kept account or the one who
    asked for the undo are named only if they may see them."""
    undo = getattr(job, "undo", None)
    if undo is None:
        return None
    kept_items = list(undo.kept.all()[:STATUS_LIST_LIMIT])
    shown = selectors.visible_ids(
        actor=viewer, ids=[undo.requested_by_id, *(item.customer_id for item in kept_items)]
    )
    kept = [
        {
            "customer_id": item.customer_id if item.customer_id in shown else None,
            "action": item.action,
            "code": item.code,
            "message": item.message,
        }
        for item in kept_items
    ]
    return {
        "task_id": str(job.pk),
        "status": undo.status,
        "message": undo.message,
        "requested_by": undo.requested_by_id if undo.requested_by_id in shown else None,
        "to_delete": undo.to_delete_count,
        "to_restore": undo.to_restore_count,
        "deleted": undo.deleted_count,
        "restored": undo.restored_count,
        "kept": undo.kept_count,
        "kept_customers": kept,
        "is_finished": undo.status in ImportJob.FINISHED_STATUSES,
        "created_at": undo.created_at,
        "started_at": undo.started_at,
        "finished_at": undo.finished_at,
    }


def _running_message(job: ImportJob) -> str:
    if job.status == ImportJob.Status.PARSED:
        return "Previewed; not confirmed yet."
    if job.status == ImportJob.Status.QUEUED:
        return "Waiting for a worker."
    if job.mode != ImportJob.Mode.CREATE or job.to_update_count:
        return (
            f"Created {job.created_count:,} of {job.to_create_count:,} and updated "
            f"{job.updated_count:,} of {job.to_update_count:,} customers so far."
        )
    return f"Created {job.created_count:,} of {job.to_create_count:,} customers so far."


def failed_rows_table(job: ImportJob) -> tuple[list[str], Iterator[list[Any]]]:
    """errors.xlsx: the columns as uploaded plus "Error", and every row not created."""
    width = max(job.column_mapping.get("width", 0), len(column_names(job, 0)))
    headers = [*column_names(job, width), "Error"]

    def rows() -> Iterator[list[Any]]:
        for row, row_errors in not_created_rows(job):
            cells, _ = parse.bounded_raw(row.raw[:width])
            cells += [None] * (width - len(cells))
            yield [*cells, reason(row_errors) or "Not created."]

    return headers, rows()
