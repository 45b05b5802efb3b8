"""Classifying again the rows a change of a preview can affect (users.imports.fixes): the
changed row and the valid rows sharing a phone, email or mark with it before or after the
change, followed through the rows sharing a value with those (a row freed from being a batch
duplicate may now come first for another value). They are found by SQL on the staging table
(one query a step of that walk, usually two), classified by users.imports.classify's rules
against the customers (by the unique indexes) and one another, and their verdicts, row errors
and the job's counts are set in a few statements. A row of the file shares no value with any
row outside that set, so its verdict cannot change: the preview stays what a new upload of the
changed file would show, without reading the file or classifying every row again."""

from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from users.customers import rules
from users.customers.rules import FieldProblem
from users.excel.columns import ColumnMap
from users.imports import staged_cells, store
from users.imports.classify import classify_rows
from users.imports.classify_rules import NO_MATCH_CODE, Classified, CreateProblems
from users.imports.marks import marks_chosen
from users.imports.parse import ParsedRow
from users.imports.stored_rows import OUTCOMES, Outcome, StoredRows
from users.models import ImportJob, ImportRowError, ImportStagedRow, User

# The row error a skipped row carries (every row not written has one: errors.xlsx and the
# status's failed rows are found by them).
SKIPPED = "skipped"
SKIPPED_MESSAGE = "Skipped in the preview."

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
# The staged keys of the unique fields (phone, email, mark), as the users' indexes compare them.
_KEYS = ("phone", "email_key", "mark_key")


def keys_of(staged: ImportStagedRow | tuple[Any, ...]) -> dict[str, set[str]]:
    if isinstance(staged, tuple):
        values = dict(zip(_KEYS, staged[1:], strict=True))
    else:
        values = {key: getattr(staged, key) for key in _KEYS}
    return {key: {values[key]} - {None, ""} for key in _KEYS}


def linked_rows(job: ImportJob, keys: dict[str, set[str]], *, leave_out: int) -> set[int]:
    """The positions of the valid rows not skipped (but `leave_out`) that share a unique value
    with `keys`, and with those rows, until no new value is found: one query a step."""
    found: set[int] = set()
    known = {key: set(values) for key, values in keys.items()}
    frontier = known
    while any(frontier.values()):
        shared = Q()
        for key, values in frontier.items():
            if values:
                shared |= Q(**{f"{key}__in": sorted(values)})
        rows = (
            ImportStagedRow.objects.filter(shared, job=job, valid=True)
            .exclude(outcome=Outcome.SKIPPED.value)
            .exclude(position=leave_out)
            .exclude(position__in=sorted(found))
            .values_list("position", *_KEYS)
        )
        frontier = {key: set() for key in known}
        for row in rows:
            found.add(row[0])
            for key, values in keys_of(row).items():
                frontier[key] |= values - known[key]
                known[key] |= values
    return found


def create_problems_of(
    job: ImportJob, positions: set[int], column_map: ColumnMap, fixed: tuple[int, ParsedRow]
) -> CreateProblems:
    """What each valid row at these positions lacks to be created (an update's rows; a
    create's lack nothing they do not already show as problems): read again from their
    cells."""
    if job.mode == ImportJob.Mode.CREATE:
        return {}
    parsed_at = {fixed[0]: fixed[1]}
    for row in StoredRows(job.pk).at(positions - {fixed[0]}):
        parsed_at[row.position] = staged_cells.parsed(job, row.source_row, row.raw, column_map)
    return {
        position: (parsed.row, parsed.create_problems)
        for position, parsed in parsed_at.items()
        if position in positions and parsed.create_problems and not parsed.problems
    }


@dataclass
class Verdicts:
    """The rows whose verdict was looked at: what each was, what it is now, and its errors."""

    before: dict[int, Outcome]
    after: dict[int, Outcome]
    source_rows: dict[int, int]
    problems: dict[int, list[FieldProblem]]


def marks_for(
    job: ImportJob, classified: Classified, create_problems: CreateProblems
) -> dict[int, str]:
    """A generated mark for each row classified that needs one and has none: one to create,
    or a duplicate shown with the mark it would have had (as the preview chooses them), none
    of them a mark the file gives or the import generated for another row."""
    needing = ImportStagedRow.objects.filter(
        job=job,
        position__in=sorted(classified.outcomes),
        mark_key__isnull=True,
        shipping_mark__isnull=True,
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
    ImportRowError.objects.filter(
        job=job, position__in=sorted(verdicts.after), at_run=False
    ).delete()
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


def verdicts_found(
    job: ImportJob,
    staged: ImportStagedRow,
    parsed: ParsedRow,
    outcome: Outcome,
    before: Outcome,
    linked: set[int],
    *,
    user: User,
) -> Verdicts:
    """The verdicts of the fixed row and the rows linked to it, classified again and stored,
    with the problems each row now has."""
    position = staged.position
    befores = dict(
        ImportStagedRow.objects.filter(job=job, position__in=sorted(linked)).values_list(
            "position", "outcome"
        )
    )
    verdicts = Verdicts(
        before={p: OUTCOMES[letter] for p, letter in befores.items()} | {position: before},
        after={position: outcome},
        source_rows={position: staged.source_row},
        problems={},
    )
    classified_positions = set(linked)
    if outcome != Outcome.SKIPPED and staged.valid:
        classified_positions.add(position)
    column_map = staged_cells.column_map(job)
    create_problems = create_problems_of(job, classified_positions, column_map, (position, parsed))
    classified = classify_rows(
        job.pk,
        classified_positions,
        viewer=user,
        options=staged_cells.options_of(job),
        create_problems=create_problems,
    )
    for at, found in classified.outcomes.items():
        # Another row still to create keeps what the preview's near-duplicate check found of
        # it (users.imports.resemblance); the fixed row itself is not checked again.
        was = verdicts.before.get(at)
        if at != position and found == Outcome.CREATE and was == Outcome.POSSIBLE_DUPLICATE:
            classified.outcomes[at] = Outcome.POSSIBLE_DUPLICATE
    store.verdicts_store(job, classified, marks_for(job, classified, create_problems))
    verdicts.after.update(classified.outcomes)
    verdicts.source_rows.update(classified.source_rows)
    for at, found in classified.outcomes.items():
        problems = classified.problems.get(at, [])
        if found == Outcome.NO_MATCH:
            problems = [no_match(job, at)]
        elif found == Outcome.INVALID and not problems and at in create_problems:
            problems = create_problems[at][1]
        verdicts.problems[at] = problems
    if position not in classified.outcomes:
        # Invalid or skipped: its own problems, and the skip.
        verdicts.problems[position] = list(parsed.problems)
        if outcome == Outcome.SKIPPED:
            verdicts.problems[position].append(FieldProblem("", SKIPPED, SKIPPED_MESSAGE, ""))
    return verdicts
