"""Undoing an import: the customers it created are deleted and the fields it updated are
restored, except for customers changed since (by an edit, another import, or anything that left
their fields other than the import left them), who have signed in, who have a password since
(someone can sign in: the holder claimed it, or an admin handed one out), or whom an import may
no longer write (users.customers.roles.import_refusal, the rule the preview and the run apply):
those are kept as they are and listed (UndoKept).

An undo is a job like an import (ImportUndo): it runs in batches, each one transaction that
re-reads the undo under a row lock, locks its customers, writes, and advances the checkpoint;
only the worker holding the lease (users.imports.leases) may advance it, a worker gone quiet
for IMPORT_STALE_AFTER loses it to the next (the watchdog queues it again), and a worker asked
to stop hands it back to the queue after its current batch. It walks the import's
CustomerChanges by id first ("changes"), then the customers the import created by id
("created").
"""

import json
import logging
import time
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import Max, QuerySet
from django.utils import timezone

from users.customers import roles
from users.customers.rules import CUSTOMER_FIELDS
from users.imports import bulk
from users.imports.leases import (
    LostLease,
    RunOutcome,
    lease_release,
    lease_take,
    leased,
    with_db_retries,
)
from users.models import CustomerChange, ImportJob, ImportUndo, UndoKept, User

logger = logging.getLogger(__name__)

CHANGES = "changes"
CREATED = "created"
DELETE = "delete"
RESTORE = "restore"

# Why a customer is kept as it is.
CHANGED_SINCE = "changed_since"
SIGNED_IN = "signed_in"
CLAIMED = "claimed"
VALUE_TAKEN = "value_taken"
NOT_A_CUSTOMER = "not_a_customer"
KEPT_MESSAGES = {
    CHANGED_SINCE: "Changed since the import; kept as it is.",
    SIGNED_IN: "Signed in since the import; kept as it is.",
    CLAIMED: "Has a password since the import, so someone can sign in to it; kept as it is.",
    VALUE_TAKEN: "Another customer holds the value to restore now; kept as it is.",
    NOT_A_CUSTOMER: "No longer a customer account; kept as it is.",
}


def import_changes(job_id: UUID) -> QuerySet[CustomerChange]:
    return CustomerChange.objects.filter(import_job_id=job_id, source=CustomerChange.Source.IMPORT)


# --- running ---------------------------------------------------------------------------------


def _advance(
    undo: ImportUndo,
    *,
    phase: str,
    checkpoint: int,
    deleted: int = 0,
    restored: int = 0,
    kept: int = 0,
) -> None:
    undo.phase = phase
    undo.checkpoint = checkpoint
    undo.deleted_count += deleted
    undo.restored_count += restored
    undo.kept_count += kept
    undo.heartbeat_at = timezone.now()
    undo.save(
        update_fields=[
            "phase",
            "checkpoint",
            "deleted_count",
            "restored_count",
            "kept_count",
            "heartbeat_at",
            "updated_at",
        ]
    )


def _later_changes(undo: ImportUndo, customer_ids: list[int]) -> dict[int, int]:
    """customer id -> the id of their latest change, other than this undo's own restores."""
    return dict(
        CustomerChange.objects.filter(customer_id__in=customer_ids)
        .exclude(import_job_id=undo.job_id, source=CustomerChange.Source.UNDO)
        .values("customer_id")
        .annotate(last=Max("id"))
        .values_list("customer_id", "last")
    )


def _target(stored: dict[str, Any]) -> roles.ImportTarget:
    return roles.ImportTarget(*(stored[name] for name in roles.IMPORT_TARGET_FIELDS))


def _kept(undo: ImportUndo, customer_id: int, action: str, code: str) -> UndoKept:
    return UndoKept(
        undo=undo, customer_id=customer_id, action=action, code=code, message=KEPT_MESSAGES[code]
    )


def _restore_batch(
    undo: ImportUndo, changes: list[CustomerChange], now: datetime
) -> tuple[int, int]:
    """Restores the fields of these changes (customers locked first); returns (restored,
    kept). IntegrityError if the database refuses a restored value."""
    ids = [change.customer_id for change in changes]
    current = {
        values["id"]: values
        for values in User.objects.select_for_update()
        .filter(pk__in=ids)
        .values("id", "last_login", *CUSTOMER_FIELDS, *roles.IMPORT_TARGET_FIELDS)
    }
    later = _later_changes(undo, ids)
    rows, records, kept = [], [], []
    for change in changes:
        stored = current.get(change.customer_id)
        if stored is None:
            continue  # deleted since: nothing to restore, nobody to keep
        refusal = roles.import_refusal(_target(stored), match=None, fields=change.fields)
        code = None
        if refusal is not None and refusal.code == roles.NOT_A_CUSTOMER:
            code = NOT_A_CUSTOMER
        elif later.get(change.customer_id, change.id) > change.id or any(
            stored[name] != values["new"] for name, values in change.fields.items()
        ):
            code = CHANGED_SINCE
        elif stored["last_login"] is not None and stored["last_login"] > change.changed_at:
            code = SIGNED_IN
        elif refusal is not None:
            code = CLAIMED  # its phone would move back, away from whoever signs in with it
        if code is not None:
            kept.append(_kept(undo, change.customer_id, RESTORE, code))
            continue
        final = {**stored, **{name: values["old"] for name, values in change.fields.items()}}
        rows.append((change.customer_id, *(final[name] for name in CUSTOMER_FIELDS)))
        records.append(
            (
                change.customer_id,
                change.source_row,
                json.dumps(
                    {
                        name: {"old": values["new"], "new": values["old"]}
                        for name, values in change.fields.items()
                    }
                ),
            )
        )
    bulk.update_rows(User, fields=CUSTOMER_FIELDS, rows=rows)
    if records:
        bulk.insert_rows(
            CustomerChange,
            fields=("customer", "source_row", "fields"),
            rows=records,
            shared={
                "import_job": undo.job_id,
                "source": CustomerChange.Source.UNDO,
                "changed_by": undo.requested_by_id,
                "changed_at": now,
            },
        )
    UndoKept.objects.bulk_create(kept)
    return len(rows), len(kept)


def _delete_batch(undo: ImportUndo, customer_ids: list[int]) -> tuple[int, int]:
    """Deletes the customers of this import among these ids that nobody touched since; returns
    (deleted, kept)."""
    current = list(
        User.objects.select_for_update()
        .filter(pk__in=customer_ids)
        .values("id", "last_login", *roles.IMPORT_TARGET_FIELDS)
    )
    later = _later_changes(undo, customer_ids)
    delete, kept = [], []
    for stored in current:
        customer_id, target = stored["id"], _target(stored)
        if roles.import_refusal(target, match=None, fields=()) is not None:
            kept.append(_kept(undo, customer_id, DELETE, NOT_A_CUSTOMER))
        elif customer_id in later:
            kept.append(_kept(undo, customer_id, DELETE, CHANGED_SINCE))
        elif stored["last_login"] is not None:
            kept.append(_kept(undo, customer_id, DELETE, SIGNED_IN))
        elif target.held:
            kept.append(_kept(undo, customer_id, DELETE, CLAIMED))
        else:
            delete.append(customer_id)
    if delete:
        User.objects.filter(pk__in=delete).delete()
    UndoKept.objects.bulk_create(kept)
    return len(delete), len(kept)


def _step(undo_id: int, worker_id: str, batch_size: int) -> bool:
    """One batch from the checkpoint; False when nothing is left. Safe to retry: it starts again
    from whatever checkpoint was committed."""
    undo = ImportUndo.objects.get(pk=undo_id)
    now = timezone.now()
    if undo.phase == CHANGES:
        changes = list(
            import_changes(undo.job_id).filter(id__gt=undo.checkpoint).order_by("id")[:batch_size]
        )
        if not changes:
            with transaction.atomic():
                _advance(leased(ImportUndo, undo_id, worker_id), phase=CREATED, checkpoint=0)
            return True
        end = changes[-1].id
        try:
            with transaction.atomic():
                locked = leased(ImportUndo, undo_id, worker_id)
                restored, kept = _restore_batch(locked, changes, now)
                _advance(locked, phase=CHANGES, checkpoint=end, restored=restored, kept=kept)
            return True
        except IntegrityError:
            pass
        # A value to restore is someone else's now: one customer per transaction, so that one
        # is kept alone.
        for change in changes:
            with transaction.atomic():
                locked = leased(ImportUndo, undo_id, worker_id)
                if locked.checkpoint >= change.id:
                    continue
                try:
                    with transaction.atomic():
                        restored, kept = _restore_batch(locked, [change], now)
                except IntegrityError:
                    UndoKept.objects.create(
                        undo=locked,
                        customer_id=change.customer_id,
                        action=RESTORE,
                        code=VALUE_TAKEN,
                        message=KEPT_MESSAGES[VALUE_TAKEN],
                    )
                    restored, kept = 0, 1
                _advance(locked, phase=CHANGES, checkpoint=change.id, restored=restored, kept=kept)
        return True
    ids = list(
        User.objects.filter(import_job_id=undo.job_id, id__gt=undo.checkpoint)
        .order_by("id")
        .values_list("id", flat=True)[:batch_size]
    )
    if not ids:
        return False
    with transaction.atomic():
        locked = leased(ImportUndo, undo_id, worker_id)
        deleted, kept = _delete_batch(locked, ids)
        _advance(locked, phase=CREATED, checkpoint=ids[-1], deleted=deleted, kept=kept)
    return True


def _finish(undo_id: int, worker_id: str) -> ImportUndo:
    with transaction.atomic():
        undo = leased(ImportUndo, undo_id, worker_id)
        now = timezone.now()
        undo.status = ImportJob.Status.COMPLETE
        undo.finished_at = now
        undo.message = (
            f"Deleted {undo.deleted_count:,} of {undo.to_delete_count:,} customers created and "
            f"restored {undo.restored_count:,} of {undo.to_restore_count:,} updated"
            + (f"; {undo.kept_count:,} kept as they are (see the list)" if undo.kept_count else "")
            + "."
        )
        undo.save(update_fields=["status", "finished_at", "message", "updated_at"])
        ImportJob.objects.filter(pk=undo.job_id).update(
            undone_at=now, undone_by=undo.requested_by_id
        )
    return undo


def import_undo_run(
    *, undo_id: int, worker_id: str, should_stop: Callable[[], bool] = lambda: False
) -> RunOutcome:
    """Runs the undo from its checkpoint to the end, and says what it came to (RunOutcome;
    an undo is never cancelled)."""
    if not with_db_retries(partial(lease_take, ImportUndo, undo_id, worker_id)):
        return RunOutcome.NOT_TAKEN
    started = time.monotonic()
    batch_size = settings.IMPORT_BATCH_SIZE
    try:
        while True:
            if should_stop():
                with_db_retries(partial(lease_release, ImportUndo, undo_id, worker_id))
                logger.info("[UNDO-RELEASE] undo=%s worker=%s", undo_id, worker_id)
                return RunOutcome.RELEASED
            if not with_db_retries(partial(_step, undo_id, worker_id, batch_size)):
                break
        undo = with_db_retries(partial(_finish, undo_id, worker_id))
    except LostLease:
        logger.warning("[UNDO-LOST] undo=%s worker=%s", undo_id, worker_id)
        return RunOutcome.LOST_LEASE
    except (OperationalError, InterfaceError):
        logger.exception("[UNDO-DB-DOWN] undo=%s worker=%s", undo_id, worker_id)
        raise
    except Exception:
        logger.exception("[UNDO-ERROR] undo=%s worker=%s", undo_id, worker_id)
        ImportUndo.objects.filter(pk=undo_id, worker_id=worker_id).exclude(
            status__in=ImportJob.FINISHED_STATUSES
        ).update(
            status=ImportJob.Status.FAILED,
            finished_at=timezone.now(),
            message="The undo stopped on an internal error; what it did so far stays done. "
            "Ask for the undo again to go on.",
        )
        return RunOutcome.FAILED
    logger.info(
        "[UNDO-DONE] undo=%s deleted=%s restored=%s kept=%s ms=%d",
        undo_id,
        undo.deleted_count,
        undo.restored_count,
        undo.kept_count,
        (time.monotonic() - started) * 1000,
    )
    return RunOutcome.COMPLETE
