"""The preview stored: the job (PARSED), its rows staged with the verdict each has when nothing
clashes (users.imports.stored_rows), then the verdicts classification found, the marks it chose,
every row error, and the job's counts and column mapping; a remap stores its new preview in the
same job while it is still a preview. The caller holds one transaction around all of it."""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import connection
from rest_framework import status

from users.customers import selectors
from users.customers.rules import CUSTOMER_FIELDS, FieldProblem
from users.errors import ApplicationError
from users.excel.columns import ColumnMap
from users.imports import bulk, resemblance, stored_rows
from users.imports.clashes import column
from users.imports.classify_rules import NO_MATCH_CODE, Classified, CreateProblems
from users.imports.parse import FIELD_LABELS, ImportOptions, ParsedRow, storable
from users.imports.stored_rows import Outcome
from users.models import ImportJob, ImportRowError, ImportStagedRow, User

_VALUE_CAP = 300


@dataclass
class PreviewSource:
    """Where the rows come from: an uploaded file or a legacy JSON body."""

    file_name: str
    file_size: int
    file_sha256: str
    file_type: str
    sheet_name: str | None = None  # the sheet read, of a workbook


def _mapping_json(column_map: ColumnMap, width: int, sheet: str | None) -> dict[str, object]:
    return {
        "sheet": storable(sheet),
        "layout": column_map.layout,
        "fields": storable(column_map.as_json()),
        "letters": column_map.letters(),
        "guessed": storable(column_map.guessed),
        "chosen": list(column_map.chosen),
        "remembered": column_map.remembered,
        "header_row": column_map.header_row,
        "unmapped": storable(column_map.unmapped),
        "width": width,
    }


def job_begin(
    *, owner: User, source: PreviewSource, options: ImportOptions, replacing: ImportJob | None
) -> ImportJob:
    """A new job for the preview, or the job it replaces (a remap), locked, its staged rows and
    row errors gone."""
    if replacing is None:
        return ImportJob.objects.create(
            owner=owner,
            mode=options.mode,
            match=options.match,
            blank_clears=options.blank_clears,
            file_name=storable(source.file_name[:255]),
            file_size=source.file_size,
            file_sha256=source.file_sha256,
            file_type=source.file_type,
        )
    job = replaceable(replacing.pk)
    ImportStagedRow.objects.filter(job=job).delete()
    ImportRowError.objects.filter(job=job).delete()
    return job


def provisional(parsed: ParsedRow, options: ImportOptions) -> Outcome:
    """The row's verdict if nothing clashes with it: invalid, no_match (update_only), invalid
    for what a create needs (update), else to create."""
    if parsed.problems:
        return Outcome.INVALID
    if options.mode == ImportJob.Mode.UPDATE_ONLY:
        return Outcome.NO_MATCH
    if parsed.create_problems:
        return Outcome.INVALID
    return Outcome.CREATE


def staged_row(position: int, parsed: ParsedRow, options: ImportOptions) -> tuple[Any, ...]:
    """The row as stored_rows.stage writes it (STAGED_FIELDS)."""
    values = parsed.values
    return (
        position,
        parsed.row,
        provisional(parsed, options),
        not parsed.problems,
        *[values.get(name) for name in CUSTOMER_FIELDS],
        selectors.unique_key("email", values.get("email")),
        selectors.unique_key("shipping_mark", values.get("shipping_mark")),
        ",".join(parsed.given),
        stored_rows.raw_json(storable(parsed.raw)),
    )


def row_errors(row: int, position: int, problems: Iterable[FieldProblem]) -> list[tuple[Any, ...]]:
    """(row, position, field, code, message, value) of each problem, as errors_insert takes."""
    return [
        (row, position, p.field, p.code, p.message, storable(str(p.value)[:_VALUE_CAP]))
        for p in problems
    ]


def errors_insert(job_id: object, errors: Sequence[tuple[Any, ...]]) -> None:
    """(row, position, field, code, message, value) tuples as the job's ImportRowErrors, in one
    statement (a file of existing customers has three for each of its rows)."""
    if errors:
        bulk.insert_rows(
            ImportRowError,
            fields=("row", "position", "field", "code", "message", "value"),
            rows=errors,
            shared={"job": job_id, "at_run": False},
        )


def preview_finish(
    job: ImportJob,
    *,
    source: PreviewSource,
    column_map: ColumnMap,
    width: int,
    total: int,
    classified: Classified,
    create_problems: CreateProblems,
) -> ImportJob:
    """Stores what classification found (verdicts, marks, reasons) over the staged rows, then
    which rows to create are possible duplicates, and the job's counts and column mapping."""
    verdicts_store(job, classified)
    if settings.IMPORT_NEAR_DUPLICATES and job.mode != ImportJob.Mode.UPDATE_ONLY:
        _resemblances_store(job)
    errors = [
        error
        for position, problems in classified.problems.items()
        for error in row_errors(classified.source_rows[position], position, problems)
    ]
    if job.mode == ImportJob.Mode.UPDATE_ONLY:
        _no_match_errors(job)
    else:
        # The rows not classified stay invalid for what a create needs (provisional).
        errors += [
            error
            for position, (row, problems) in create_problems.items()
            if position not in classified.outcomes
            for error in row_errors(row, position, problems)
        ]
    errors_insert(job.pk, errors)
    counts = stored_rows.outcome_counts(job.pk)
    preview = {
        "column_mapping": _mapping_json(column_map, width, source.sheet_name),
        "headers": storable(column_map.headers),
        "total_rows": total,
        "invalid_count": counts[Outcome.INVALID],
        "existing_duplicate_count": counts[Outcome.EXISTING],
        "batch_duplicate_count": counts[Outcome.BATCH],
        "to_create_count": counts[Outcome.CREATE] + counts[Outcome.POSSIBLE_DUPLICATE],
        "possible_duplicate_count": counts[Outcome.POSSIBLE_DUPLICATE],
        "to_update_count": counts[Outcome.UPDATE],
        "unchanged_count": counts[Outcome.UNCHANGED],
        "ambiguous_count": counts[Outcome.AMBIGUOUS],
        "no_match_count": counts[Outcome.NO_MATCH],
        "skipped_in_preview_count": counts[Outcome.SKIPPED],
    }
    for name, value in preview.items():
        setattr(job, name, value)
    job.save(update_fields=[*preview, "updated_at"])
    return job


def verdicts_store(
    job: ImportJob, classified: Classified, marks: dict[int, str] | None = None
) -> None:
    """The verdicts of the rows classified (with the customer and changes of an update), and
    the marks chosen (`marks`, else the classification's own), over what the rows were staged
    with (a preview's, or a fix's: users.imports.fixes)."""
    stored_rows.staged_set(
        job.pk,
        ("outcome", "customer_id", "changes"),
        [
            (
                position,
                outcome.value,
                classified.matched.get(position),
                # Changes hold cleaned and stored values only: no NUL can be among them.
                json.dumps(classified.changes[position])
                if position in classified.changes
                else None,
            )
            for position, outcome in classified.outcomes.items()
        ],
    )
    chosen = classified.generated_marks if marks is None else marks
    if chosen:
        stored_rows.staged_set(
            job.pk,
            ("shipping_mark", "mark_generated"),
            [(position, mark, True) for position, mark in chosen.items()],
        )


# The staged columns that say whom a possible duplicate resembles (with its outcome first).
RESEMBLANCE_COLUMNS = (
    "outcome",
    "resembles_customer_id",
    "resembles_row",
    "resemblance_code",
    "resemblance_message",
)


def resemblances_set(
    job_id: object, rows: Iterable[tuple[int, Outcome, resemblance.Resemblance | None]]
) -> None:
    """Each row's outcome and whom it resembles (None: nobody), in one statement."""
    stored_rows.staged_set(
        job_id,
        RESEMBLANCE_COLUMNS,
        [
            (position, outcome.value, None, None, None, None)
            if found is None
            else (
                position,
                outcome.value,
                found.customer_id,
                found.row,
                found.reason,
                found.message,
            )
            for position, outcome, found in rows
        ],
    )


def _resemblances_store(job: ImportJob) -> None:
    """The rows to create that resemble a customer or an earlier row become possible
    duplicates, with whom they resemble and why (users.imports.resemblance). They stay rows to
    create: the run creates them, and no row error is written (errors.xlsx lists errors)."""
    found = resemblance.near_duplicates(job.pk)
    resemblances_set(
        job.pk,
        [
            (position, Outcome.POSSIBLE_DUPLICATE, found_one)
            for position, found_one in found.items()
        ],
    )


def no_match_message(field: str, *, blank: bool) -> str:
    """Why a row of update_only matches no customer by `field`: it has no value, or nobody
    holds its value."""
    label = FIELD_LABELS[field].lower()
    return f"The row has no {label}." if blank else f"No customer has this {label}."


def _no_match_errors(job: ImportJob) -> None:
    """The reason of every no_match row (update_only), in one INSERT ... SELECT: most rows of
    an update_only file of new customers are such rows."""
    field = job.match
    key = {"phone": "phone", "email": "email_key", "shipping_mark": "mark_key"}[field]
    staged = {
        name: column(ImportStagedRow, name)
        for name in ("job", "source_row", "position", "outcome", key)
    }
    columns = ", ".join(
        column(ImportRowError, name)
        for name in ("job", "row", "position", "field", "code", "message", "value", "at_run")
    )
    table = connection.ops.quote_name(ImportRowError._meta.db_table)
    sql = (
        f"INSERT INTO {table} ({columns}) "  # noqa: S608
        f"SELECT {staged['job']}, {staged['source_row']}, {staged['position']}, %s, %s, "
        f"CASE WHEN COALESCE({staged[key]}, '') = '' THEN %s ELSE %s END, "
        f"COALESCE({staged[key]}, ''), %s FROM {stored_rows.staged_table()} "
        f"WHERE {staged['job']} = %s AND {staged['outcome']} = %s"
    )
    job_key = ImportStagedRow._meta.get_field("job").get_db_prep_value(job.pk, connection)
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                field,
                NO_MATCH_CODE,
                no_match_message(field, blank=True),
                no_match_message(field, blank=False),
                False,
                job_key,
                Outcome.NO_MATCH.value,
            ],
        )


UPLOAD_CONFIRMED = "upload_confirmed"


def not_replaceable(job: ImportJob | None) -> ApplicationError:
    return ApplicationError(
        UPLOAD_CONFIRMED,
        "This upload was already confirmed (or cancelled); its mapping can no longer change.",
        status_code=status.HTTP_409_CONFLICT,
        errors={"status": job.status if job else None},
    )


def replaceable(job_id: UUID) -> ImportJob:
    """The job, row-locked for the transaction the caller is in, while it is still a preview;
    409 once it was confirmed (a confirm that races a remap either comes first, or queues the
    new preview)."""
    job = ImportJob.objects.select_for_update().filter(pk=job_id).first()
    if job is None or job.status != ImportJob.Status.PARSED:
        raise not_replaceable(job)
    return job
