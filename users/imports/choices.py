"""What the admin chooses for a possible duplicate (a row to create that resembles a customer or
an earlier row: users.imports.resemblance): create it anyway, update the customer it resembles,
or skip it. One row at a time through a fix's actions (users.imports.fixes), or every possible
duplicate of a preview at once (possible_duplicates_choose).

The choice is kept on the staged row (`choice`, stored_rows.Choice) beside its outcome, so that
it holds while other rows are classified again, and is dropped when the row's own cells are
fixed (the row is then compared again). "Update" makes the row an update of that customer as
an update-mode import would treat a row matched to it (users.imports.classify_rules): the
fields its cells give are written, an unchanged one is no change, one that would take a value
another customer holds makes it ambiguous, one the import may not write
(roles.import_refusal) refuses it; the run locks the customer and decides again, as for any
update (users.imports.writes).

For every possible duplicate at once, the rows are chosen by SQL over the staging table, their
history written in one statement, and only the rows a choice can affect classified again: a
skip frees the values the rows held (a later duplicate of one may now be created), an update
may make a row a duplicate of another that updates the same customer.
"""

import json
import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from rest_framework import status

from users import errors
from users.customers import roles
from users.errors import ApplicationError
from users.imports import bulk, reclassify, staged_cells, stored_rows
from users.imports.stored_rows import Choice, Outcome
from users.models import ImportJob, ImportRowFix, ImportStagedRow, User

logger = logging.getLogger(__name__)

NOT_A_POSSIBLE_DUPLICATE = "not_a_possible_duplicate"
NO_CUSTOMER_TO_UPDATE = "no_customer_to_update"

# A fix's actions that are choices for a possible duplicate, and the choice each stores.
CHOICES = {
    ImportRowFix.Action.CREATE.value: Choice.CREATE,
    ImportRowFix.Action.UPDATE.value: Choice.UPDATE,
}
# What may be chosen for every possible duplicate at once.
ACTIONS = (
    ImportRowFix.Action.CREATE.value,
    ImportRowFix.Action.UPDATE.value,
    ImportRowFix.Action.SKIP.value,
)

# Why a possible duplicate is left as it is by "update" for all at once.
RESEMBLES_A_ROW = "resembles_a_row"
CUSTOMER_NOT_AVAILABLE = "customer_not_available"
LEFT_MESSAGES = {
    RESEMBLES_A_ROW: "It resembles an earlier row of the file, not a customer: create it or "
    "skip it.",
    CUSTOMER_NOT_AVAILABLE: "The customer it resembles was deleted, or is not one you can see.",
}


def _refused(code: str, message: str) -> ApplicationError:
    return ApplicationError(code, message, status_code=status.HTTP_409_CONFLICT)


def _visible_customers(user: User) -> Q:
    """The staged rows whose resembled customer exists and `user` may see (roles.visible)."""
    return Q(Exists(User.objects.filter(roles.visible(user), pk=OuterRef("resembles_customer_id"))))


def choice_allowed(staged: ImportStagedRow, *, action: str, user: User) -> None:
    """409 unless the row is a possible duplicate, or a choice made it from one
    (NOT_A_POSSIBLE_DUPLICATE); and for "update", unless it resembles a stored customer that
    exists and `user` may see (NO_CUSTOMER_TO_UPDATE: an earlier row of the file has no
    customer to update)."""
    if staged.outcome != Outcome.POSSIBLE_DUPLICATE and staged.choice is None:
        raise _refused(
            NOT_A_POSSIBLE_DUPLICATE,
            f"Row {staged.source_row} is not a possible duplicate: only a row that resembles a "
            "customer or an earlier row is created anyway or made an update.",
        )
    if action != ImportRowFix.Action.UPDATE:
        return
    if staged.resembles_customer_id is None:
        raise _refused(
            NO_CUSTOMER_TO_UPDATE,
            f"Row {staged.source_row} resembles an earlier row of the file, not a customer: "
            "there is no customer to update.",
        )
    visible = ImportStagedRow.objects.filter(
        _visible_customers(user), job_id=staged.job_id, position=staged.position
    )
    if not visible.exists():
        raise _refused(
            NO_CUSTOMER_TO_UPDATE,
            f"The customer row {staged.source_row} resembles was deleted, or is not one you "
            "can see: there is no customer to update.",
        )


@dataclass(frozen=True)
class AllChosen:
    """What a choice for every possible duplicate did: the rows it was applied to, what they
    are now (outcome -> rows), and the rows it left as they were, by reason."""

    action: str
    chosen: int
    outcomes: dict[Outcome, int]
    left: dict[str, int]


def _history_insert(
    job: ImportJob, rows: list[tuple[int, int, int | None]], action: str, user: User, now: datetime
) -> None:
    """One ImportRowFix for each row (number in the file, position, the customer chosen or
    None), in one statement."""
    if not rows:
        return
    bulk.insert_rows(
        ImportRowFix,
        fields=("row", "position", "new"),
        rows=[(row, position, None if new is None else str(new)) for row, position, new in rows],
        shared={
            "job": job.pk,
            "action": action,
            "field": "",
            "changed_by": user.pk,
            "changed_at": now,
        },
    )


def _picked(job: ImportJob, picked: Q) -> list[tuple[int, int, int | None]]:
    """(number in the file, position, customer it resembles) of the rows `picked` selects."""
    return list(
        ImportStagedRow.objects.filter(picked, job=job)
        .order_by("position")
        .values_list("source_row", "position", "resembles_customer_id")
    )


def _all_created(job: ImportJob, user: User, now: datetime) -> AllChosen:
    """Every possible duplicate a plain row to create: nothing else moves (it stays a row to
    create, the first of its values, and another row's candidate)."""
    possible = Q(outcome=Outcome.POSSIBLE_DUPLICATE.value)
    rows = _picked(job, possible)
    _history_insert(job, [(row, at, None) for row, at, _ in rows], "create", user, now)
    ImportStagedRow.objects.filter(possible, job=job).update(
        outcome=Outcome.CREATE.value, choice=Choice.CREATE.value
    )
    job.possible_duplicate_count -= len(rows)
    job.save(update_fields=["possible_duplicate_count", "updated_at"])
    return AllChosen("create", len(rows), {Outcome.CREATE: len(rows)} if rows else {}, {})


def _classified_again(
    job: ImportJob,
    linked: set[int],
    rows: list[tuple[int, int, int | None]],
    settled: dict[int, reclassify.Settled],
    user: User,
) -> reclassify.Verdicts:
    """The rows chosen (possible duplicates until now, their choice written: `rows`), those
    of them `settled`, and the rows `linked` to them, classified again, their errors and the
    job's counts written."""
    chosen = {at for _, at, _ in rows}
    verdicts = reclassify.verdicts_found(
        job,
        classified=linked | (chosen - set(settled)),
        before=reclassify.outcomes_of(job, linked)
        | dict.fromkeys(chosen, Outcome.POSSIBLE_DUPLICATE),
        settled=settled,
        parsed_at={},
        cells_changed=set(),
        user=user,
    )
    reclassify.errors_write(job, verdicts)
    reclassify.counts_write(job, verdicts)
    return verdicts


def _outcomes(verdicts: reclassify.Verdicts, positions: list[int]) -> dict[Outcome, int]:
    counted: dict[Outcome, int] = {}
    for position in positions:
        outcome = verdicts.after[position]
        counted[outcome] = counted.get(outcome, 0) + 1
    return counted


def _all_skipped(job: ImportJob, user: User, now: datetime) -> AllChosen:
    """Every possible duplicate skipped: the rows sharing a value with one are classified
    again (a skipped row no longer comes first for its values)."""
    rows = _picked(job, Q(outcome=Outcome.POSSIBLE_DUPLICATE.value))
    if not rows:
        return AllChosen("skip", 0, {}, {})
    # Picked by their outcome before it changes: the rows sharing their values are found first.
    picked = Q(outcome=Outcome.POSSIBLE_DUPLICATE.value)
    linked = reclassify.linked_to_picked(job, picked)
    ImportStagedRow.objects.filter(picked, job=job).update(
        outcome=Outcome.SKIPPED.value, choice=Choice.SKIP.value
    )
    settled = {
        at: reclassify.Settled(row, Outcome.SKIPPED, [reclassify.SKIPPED_PROBLEM])
        for row, at, _ in rows
    }
    _classified_again(job, linked, rows, settled, user)
    _history_insert(job, [(row, at, None) for row, at, _ in rows], "skip", user, now)
    return AllChosen("skip", len(rows), {Outcome.SKIPPED: len(rows)}, {})


def _left_by_update(job: ImportJob, user: User) -> dict[str, int]:
    """The possible duplicates an update for all leaves as they are, by reason."""
    possible = ImportStagedRow.objects.filter(job=job, outcome=Outcome.POSSIBLE_DUPLICATE.value)
    left = {
        RESEMBLES_A_ROW: possible.filter(resembles_customer_id__isnull=True).count(),
        CUSTOMER_NOT_AVAILABLE: possible.filter(resembles_customer_id__isnull=False)
        .exclude(_visible_customers(user))
        .count(),
    }
    return {reason: count for reason, count in left.items() if count}


def _all_updated(job: ImportJob, user: User, now: datetime) -> AllChosen:
    """Every possible duplicate that resembles a customer `user` may see made an update of
    that customer (the fields its cells give, as an update stages them), then classified again
    with the rows linked to it."""
    eligible = Q(outcome=Outcome.POSSIBLE_DUPLICATE.value, resembles_customer_id__isnull=False)
    eligible &= _visible_customers(user)
    left = _left_by_update(job, user)
    columns = staged_cells.column_map(job)
    given: list[tuple[int, str, str]] = []
    rows: list[tuple[int, int, int | None]] = []
    for row, at, customer, raw in (
        ImportStagedRow.objects.filter(eligible, job=job)
        .order_by("position")
        .values_list("source_row", "position", "resembles_customer_id", "raw")
        .iterator(2000)
    ):
        rows.append((row, at, customer))
        given.append((at, Choice.UPDATE.value, staged_cells.given_of(json.loads(raw), columns)))
    if not rows:
        return AllChosen("update", 0, {}, left)
    stored_rows.staged_set(job.pk, ("choice", "given"), given)
    picked = Q(outcome=Outcome.POSSIBLE_DUPLICATE.value, choice=Choice.UPDATE.value)
    verdicts = _classified_again(job, reclassify.linked_to_picked(job, picked), rows, {}, user)
    _history_insert(job, rows, "update", user, now)
    return AllChosen("update", len(rows), _outcomes(verdicts, [at for _, at, _ in rows]), left)


def possible_duplicates_choose(*, job: ImportJob, action: str, user: User) -> AllChosen:
    """Applies `action` ("create", "update" or "skip") to every possible duplicate of the
    preview, by the job's owner only, while it is a preview (the same 403 and 409 as a fix of
    one row); "update" to those that resemble a customer `user` may see (the others are left,
    and counted by reason)."""
    reclassify.owner_only(job, user)
    if action not in ACTIONS:
        raise ApplicationError(
            errors.VALIDATION_ERROR,
            f"One of: {', '.join(ACTIONS)}.",
            errors={"action": [{"message": f"One of: {', '.join(ACTIONS)}."}]},
        )
    now = timezone.now()
    with transaction.atomic():
        job = reclassify.preview_locked(job)
        if action == ImportRowFix.Action.CREATE:
            done = _all_created(job, user, now)
        elif action == ImportRowFix.Action.SKIP:
            done = _all_skipped(job, user, now)
        else:
            done = _all_updated(job, user, now)
    logger.info(
        "[IMPORT-CHOOSE-ALL] job=%s action=%s chosen=%s left=%s",
        job.pk,
        action,
        done.chosen,
        sum(done.left.values()),
    )
    return done
