"""Classifying again the rows a change of a preview can affect (users.imports.fixes,
users.imports.choices): the changed rows and the valid rows sharing a phone, email or mark, or
the customer they update (matched, or chosen by the admin), with them before or after the
change, followed through the rows sharing a value with those (a row freed from being a batch
duplicate may now come first for another value). They are found by SQL on the staging table
(one query a step of that walk, usually two), classified by users.imports.classify's rules
against the customers (by the unique indexes) and one another, compared again for
near-duplicates (users.imports.rechecks), and their verdicts, row errors and the job's counts
are set in a few statements. A row of the file shares no value with any row outside that set,
so its verdict cannot change: the preview stays what a new upload of the changed file would
show, without reading the file or classifying every row again."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from rest_framework import status

from users import errors
from users.customers import rules
from users.customers.rules import FieldProblem
from users.errors import ApplicationError
from users.excel.columns import ColumnMap
from users.imports import rechecks, staged_cells, store
from users.imports.classify import classify_rows
from users.imports.classify_rules import NO_MATCH_CODE, Classified, CreateProblems
from users.imports.marks import marks_chosen
from users.imports.parse import ParsedRow
from users.imports.resemblance_keys import Key
from users.imports.stored_rows import (
    OUTCOMES,
    Choice,
    Outcome,
    StoredRows,
    at_positions,
    pages_of,
)
from users.models import ImportJob, ImportRowError, ImportStagedRow, User

# The row error a skipped row carries (every row not written has one: errors.xlsx and the
# status's failed rows are found by them).
SKIPPED = "skipped"
SKIPPED_MESSAGE = "Skipped in the preview."
SKIPPED_PROBLEM = FieldProblem("", SKIPPED, SKIPPED_MESSAGE, "")

# The job's counts of each outcome (a possible duplicate is a row to create, counted apart too).
COUNT_FIELDS = {
    Outcome.CREATE: ("to_create_count",),
    Outcome.POSSIBLE_DUPLICATE: ("to_create_count", "possible_duplicate_count"),
    Outcome.INVALID: ("invalid_count",),
    Outcome.EXISTING: ("existing_duplicate_count",),
    Outcome.BATCH: ("batch_duplicate_count",),
    Outcome.UPDATE: ("to_update_count",),
    Outcome.UNCHANGED: ("unchanged_count",),
    Outcome.AMBIGUOUS: ("ambiguous_count",),
    Outcome.NO_MATCH: ("no_match_count",),
    Outcome.SKIPPED: ("skipped_in_preview_count",),
}
# What links a staged row to others: its unique values as the users' indexes compare them
# (phone, email, mark), and the customer it updates (matched by its key, or chosen by the admin:
# users.imports.choices), as read from the staging table.
LINK_COLUMNS = ("phone", "email_key", "mark_key", "customer_id", "choice", "resembles_customer_id")
# Values looked up in one query of the walk.
_CHUNK = 500


def owner_only(job: ImportJob, user: User) -> None:
    """403 unless `user` uploaded the file: a super admin, who sees every job, reads its rows
    but does not change another admin's preview."""
    if job.owner_id != user.pk:
        raise ApplicationError(
            errors.PERMISSION_DENIED,
            "Only the admin who uploaded the file fixes its rows.",
            status_code=status.HTTP_403_FORBIDDEN,
        )


def preview_locked(job: ImportJob) -> ImportJob:
    """The job, row-locked for this transaction, while it is a preview: a confirm waits for
    the change (it locks the same row) or comes first, and then the change is a 409."""
    locked = ImportJob.objects.select_for_update().filter(pk=job.pk).first()
    if locked is None or locked.status != ImportJob.Status.PARSED:
        raise ApplicationError(
            store.UPLOAD_CONFIRMED,
            "This upload was already confirmed (or cancelled): its rows can no longer be fixed.",
            status_code=status.HTTP_409_CONFLICT,
            errors={"status": locked.status if locked else None},
        )
    return locked


def outcomes_of(job: ImportJob, positions: set[int]) -> dict[int, Outcome]:
    """The outcome of each of the job's rows at these positions, as staged now."""
    found: dict[int, Outcome] = {}
    for page in pages_of(positions, _CHUNK):
        found |= {
            position: OUTCOMES[letter]
            for position, letter in ImportStagedRow.objects.filter(
                at_positions(page), job=job
            ).values_list("position", "outcome")
        }
    return found


def keys_of(values: Mapping[str, Any]) -> dict[str, set[Any]]:
    """The values a row (its LINK_COLUMNS by name) shares with the rows it is linked to."""
    customers = {values["customer_id"]}
    if values["choice"] == Choice.UPDATE:
        customers.add(values["resembles_customer_id"])
    return {
        "phone": {values["phone"]} - {None, ""},
        "email_key": {values["email_key"]} - {None, ""},
        "mark_key": {values["mark_key"]} - {None, ""},
        "customer": customers - {None},
    }


def staged_keys(staged: ImportStagedRow) -> dict[str, set[Any]]:
    """keys_of a staged row as read."""
    return keys_of({name: getattr(staged, name) for name in LINK_COLUMNS})


def _sharing(key: str, values: list[Any]) -> Q:
    """The rows holding one of these values of a kind of link."""
    if key == "customer":
        return Q(customer_id__in=values) | Q(
            choice=Choice.UPDATE.value, resembles_customer_id__in=values
        )
    return Q(**{f"{key}__in": values})


def linked_rows(job: ImportJob, keys: dict[str, set[Any]], *, leave_out: set[int]) -> set[int]:
    """The positions of the valid rows not skipped (but those of `leave_out`) that share a
    unique value or a customer with `keys`, and with those rows, until no new value is found:
    one query a step (for each _CHUNK values)."""
    found: set[int] = set()
    known = {key: set(values) for key, values in keys.items()}
    frontier = known
    while any(frontier.values()):
        pairs = [(key, value) for key, values in frontier.items() for value in sorted(values)]
        rows: list[tuple[Any, ...]] = []
        for start in range(0, len(pairs), _CHUNK):
            by_key: dict[str, list[Any]] = {}
            for key, value in pairs[start : start + _CHUNK]:
                by_key.setdefault(key, []).append(value)
            shared = Q()
            for key, chunk in by_key.items():
                shared |= _sharing(key, chunk)
            rows += (
                ImportStagedRow.objects.filter(shared, job=job, valid=True)
                .exclude(outcome=Outcome.SKIPPED.value)
                .values_list("position", *LINK_COLUMNS)
            )
        frontier = {key: set() for key in known}
        for row in rows:
            if row[0] in found or row[0] in leave_out:
                continue
            found.add(row[0])
            for key, values in keys_of(dict(zip(LINK_COLUMNS, row[1:], strict=True))).items():
                frontier[key] |= values - known[key]
                known[key] |= values
    return found


def linked_to_picked(job: ImportJob, picked: Q) -> set[int]:
    """The positions of the valid rows not skipped, but not among those `picked` selects, that
    share a unique value or a customer with a picked row, and with those rows (linked_rows).
    The first step is SQL over the staging table (the picked rows' values are never read into
    Python): a choice for every possible duplicate picks thousands of rows."""
    chosen = ImportStagedRow.objects.filter(picked, job=job)
    customers = chosen.filter(choice=Choice.UPDATE.value).values("resembles_customer_id")
    shared = (
        Q(phone__in=chosen.filter(phone__isnull=False).values("phone"))
        | Q(email_key__in=chosen.filter(email_key__isnull=False).values("email_key"))
        | Q(mark_key__in=chosen.filter(mark_key__isnull=False).values("mark_key"))
        | Q(customer_id__in=customers)
        | Q(choice=Choice.UPDATE.value, resembles_customer_id__in=customers)
    )
    first = list(
        ImportStagedRow.objects.filter(shared, job=job, valid=True)
        .exclude(outcome=Outcome.SKIPPED.value)
        .exclude(picked)
        .values_list("position", *LINK_COLUMNS)
    )
    keys: dict[str, set[Any]] = {}
    for row in first:
        for key, values in keys_of(dict(zip(LINK_COLUMNS, row[1:], strict=True))).items():
            keys.setdefault(key, set()).update(values)
    found = {row[0] for row in first}
    picked_positions = set(chosen.values_list("position", flat=True))
    return found | linked_rows(job, keys, leave_out=found | picked_positions)


def create_problems_of(
    job: ImportJob, positions: set[int], column_map: ColumnMap, parsed_at: Mapping[int, ParsedRow]
) -> CreateProblems:
    """What each valid row at these positions lacks to be created (an update's rows; a
    create's lack nothing they do not already show as problems): read again from their cells,
    or taken from `parsed_at` for the rows just parsed."""
    if job.mode == ImportJob.Mode.CREATE:
        return {}
    parsed = dict(parsed_at)
    for row in StoredRows(job.pk).at(positions - set(parsed)):
        parsed[row.position] = staged_cells.parsed(job, row.source_row, row.raw, column_map)
    return {
        position: (again.row, again.create_problems)
        for position, again in parsed.items()
        if position in positions and again.create_problems and not again.problems
    }


@dataclass
class Verdicts:
    """The rows whose verdict was looked at: what each was, what it is now, its number in the
    file, and its errors (of the rows whose errors are written again)."""

    before: dict[int, Outcome]
    after: dict[int, Outcome]
    source_rows: dict[int, int]
    problems: dict[int, list[FieldProblem]]

    def changed(self, *, leave_out: int | None = None) -> dict[int, Outcome]:
        """The rows whose verdict changed (but `leave_out`): their number in the file -> their
        outcome now."""
        return {
            self.source_rows[at]: outcome
            for at, outcome in self.after.items()
            if at != leave_out and outcome != self.before[at]
        }


@dataclass(frozen=True)
class Settled:
    """A row given its verdict without being classified (invalid, or skipped), and why."""

    source_row: int
    outcome: Outcome
    problems: list[FieldProblem]


def marks_for(
    job: ImportJob, classified: Classified, create_problems: CreateProblems
) -> dict[int, str]:
    """A generated mark for each row classified that needs one and has none: one to create,
    or a duplicate shown with the mark it would have had (as the preview chooses them), none
    of them a mark the file gives or the import generated for another row."""
    needing: list[tuple[int, str | None]] = []
    for page in pages_of(classified.outcomes, _CHUNK):
        needing += ImportStagedRow.objects.filter(
            at_positions(page), job=job, mark_key__isnull=True, shipping_mark__isnull=True
        ).values_list("position", "first_name")
    wanted = [
        (position, rules.shipping_mark_base(first_name or ""))
        for position, first_name in needing
        if classified.outcomes[position] == Outcome.CREATE
        or (
            classified.outcomes[position] in (Outcome.EXISTING, Outcome.BATCH)
            and position not in create_problems
        )
    ]
    if not wanted:
        return {}
    bases = {base for _, base in wanted}
    similar = Q()
    for base in bases:
        similar |= Q(shipping_mark__istartswith=base)
    reserved = {
        mark.upper()
        for mark in ImportStagedRow.objects.filter(similar, job=job).values_list(
            "shipping_mark", flat=True
        )
        if mark
    }
    return marks_chosen(sorted(wanted), reserved=reserved)


def no_match(job: ImportJob, position: int) -> FieldProblem:
    """Why a row of update_only matches no customer (as the preview says it)."""
    column = {"phone": "phone", "email": "email_key", "shipping_mark": "mark_key"}[job.match]
    key = (
        ImportStagedRow.objects.filter(job=job, position=position)
        .values_list(column, flat=True)
        .first()
    )
    return FieldProblem(
        job.match, NO_MATCH_CODE, store.no_match_message(job.match, blank=not key), key or ""
    )


def errors_write(job: ImportJob, verdicts: Verdicts) -> None:
    """The row errors of the rows looked at, in place of the ones they had."""
    for page in pages_of(verdicts.after, _CHUNK):
        ImportRowError.objects.filter(at_positions(page), job=job, at_run=False).delete()
    store.errors_insert(
        job.pk,
        [
            error
            for position, problems in verdicts.problems.items()
            for error in store.row_errors(verdicts.source_rows[position], position, problems)
        ],
    )


def counts_write(job: ImportJob, verdicts: Verdicts) -> None:
    """The job's counts moved by the verdicts that changed (the job is locked)."""
    changed = set()
    for position, outcome in verdicts.after.items():
        before = verdicts.before[position]
        if before != outcome:
            for moved, step in ((before, -1), (outcome, 1)):
                for name in COUNT_FIELDS[moved]:
                    setattr(job, name, getattr(job, name) + step)
                    changed.add(name)
    job.save(update_fields=[*sorted(changed), "updated_at"])


def _choices_of(job: ImportJob, positions: set[int]) -> dict[int, tuple[str | None, int | None]]:
    """The choice of each row at these positions that holds one, and the customer it
    resembles."""
    found: dict[int, tuple[str | None, int | None]] = {}
    for page in pages_of(positions, _CHUNK):
        rows = ImportStagedRow.objects.filter(
            at_positions(page), job=job, choice__isnull=False
        ).values_list("position", "choice", "resembles_customer_id")
        found |= {position: (choice, customer) for position, choice, customer in rows}
    return found


def verdicts_found(
    job: ImportJob,
    *,
    classified: set[int],
    before: dict[int, Outcome],
    settled: Mapping[int, Settled],
    parsed_at: Mapping[int, ParsedRow],
    cells_changed: set[int],
    user: User,
    old_keys: Mapping[int, set[Key]] | None = None,
) -> Verdicts:
    """The verdicts of the rows a change touched: those at `classified` (valid rows not
    skipped) classified again and stored, those of `settled` as they are given; `before` holds
    what each was. A row chosen to update a customer is matched to it; the rows to create are
    compared again for near-duplicates (users.imports.rechecks), which may look at a few rows
    more. `parsed_at` holds the rows whose cells were just parsed, `cells_changed` those whose
    cells a fix changed, `old_keys` the blocking keys those held before."""
    verdicts = Verdicts(
        before=dict(before),
        after={at: row.outcome for at, row in settled.items()},
        source_rows={at: row.source_row for at, row in settled.items()},
        problems={at: list(row.problems) for at, row in settled.items()},
    )
    options = staged_cells.options_of(job)
    create_problems = create_problems_of(job, classified, staged_cells.column_map(job), parsed_at)
    choices = _choices_of(job, classified | set(settled))
    found = classify_rows(
        job.pk,
        classified,
        viewer=user,
        options=options,
        create_problems=create_problems,
        chosen={
            at: customer
            for at, (choice, customer) in choices.items()
            if choice == Choice.UPDATE and customer is not None
        },
    )
    store.verdicts_store(job, found, marks_for(job, found, create_problems))
    verdicts.after.update(found.outcomes)
    verdicts.source_rows.update(found.source_rows)
    for at, outcome in found.outcomes.items():
        problems = found.problems.get(at, [])
        if outcome == Outcome.NO_MATCH:
            problems = [no_match(job, at)]
        elif outcome == Outcome.INVALID and not problems and at in create_problems:
            problems = create_problems[at][1]
        verdicts.problems[at] = problems
    rechecks.resemblances_again(
        job,
        rechecks.Moved(
            before=verdicts.before,
            after=verdicts.after,
            source_rows=verdicts.source_rows,
            cells_changed=cells_changed,
            chosen=set(choices),
        ),
        old_keys=old_keys,
    )
    return verdicts
