"""The preview stored: the job (PARSED, with its counts and column mapping), its rows
(users.imports.stored_rows) and its row errors, in one transaction; a remap stores its new
preview in the same job while it is still a preview."""

from dataclasses import dataclass
from typing import IO

from django.db import transaction
from rest_framework import status

from users.customers.rules import CUSTOMER_FIELDS
from users.errors import ApplicationError
from users.excel.columns import ColumnMap
from users.imports import bulk, stored_rows
from users.imports.classify import Classified
from users.imports.parse import ImportOptions, ParsedRow, storable
from users.imports.spool import spooled
from users.imports.stored_rows import Outcome, StoredRow
from users.models import ImportChunk, ImportJob, ImportRowError, User

_VALUE_CAP = 300


@dataclass
class PreviewSource:
    """Where the rows come from: an uploaded file or a legacy JSON body."""

    file_name: str
    file_size: int
    file_sha256: str
    file_type: str
    sheet_name: str | None = None  # the sheet read, of a workbook


def values_list(values: dict[str, object]) -> list:
    return [values.get(name) for name in CUSTOMER_FIELDS]


def _mapping_json(column_map: ColumnMap, width: int, sheet: str | None) -> dict:
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


def preview_store(
    *,
    owner: User,
    source: PreviewSource,
    options: ImportOptions,
    column_map: ColumnMap,
    width: int,
    spool: IO[bytes],
    total: int,
    classified: Classified,
    replacing: ImportJob | None = None,
) -> ImportJob:
    """Stores the preview in one transaction: the job (new, or `replacing`'s) with its counts,
    its rows, their errors."""
    preview = {
        "column_mapping": _mapping_json(column_map, width, source.sheet_name),
        "headers": storable(column_map.headers),
        "total_rows": total,
        "invalid_count": classified.count(Outcome.INVALID),
        "existing_duplicate_count": classified.count(Outcome.EXISTING),
        "batch_duplicate_count": classified.count(Outcome.BATCH),
        "to_create_count": classified.count(Outcome.CREATE),
        "to_update_count": classified.count(Outcome.UPDATE),
        "unchanged_count": classified.count(Outcome.UNCHANGED),
        "ambiguous_count": classified.count(Outcome.AMBIGUOUS),
        "no_match_count": classified.count(Outcome.NO_MATCH),
    }
    with transaction.atomic():
        job = _job_of_preview(owner, source, options, preview, replacing)
        _store_rows(job, spool, total, classified)
    return job


def _job_of_preview(
    owner: User,
    source: PreviewSource,
    options: ImportOptions,
    preview: dict[str, object],
    replacing: ImportJob | None,
) -> ImportJob:
    """A new job holding the preview's counts and mapping, or the job it replaces (a remap),
    locked, its rows and row errors gone."""
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
            **preview,
        )
    job = replaceable(replacing.pk)
    ImportChunk.objects.filter(job=job).delete()
    ImportRowError.objects.filter(job=job).delete()
    for name, value in preview.items():
        setattr(job, name, value)
    job.save(update_fields=[*preview, "updated_at"])
    return job


def _store_rows(job: ImportJob, spool: IO[bytes], total: int, classified: Classified) -> None:
    """The spooled rows with their verdicts, in chunks, and their problems as row errors."""
    chunk: list[StoredRow] = []
    errors: list[tuple] = []
    for index, parsed in spooled(spool):
        problems = parsed.problems or classified.problems.get(index, [])
        chunk.append(_stored_row(index, parsed, classified))
        errors.extend(
            (parsed.row, index, p.field, p.code, p.message, storable(str(p.value)[:_VALUE_CAP]))
            for p in problems
        )
        if len(chunk) == stored_rows.CHUNK_ROWS:
            stored_rows.chunk_store(job.pk, index // stored_rows.CHUNK_ROWS, chunk)
            chunk = []
        if len(errors) >= 2000:
            _insert_errors(job, errors)
            errors = []
    if chunk:
        stored_rows.chunk_store(job.pk, (total - 1) // stored_rows.CHUNK_ROWS, chunk)
    _insert_errors(job, errors)


def _stored_row(index: int, parsed: ParsedRow, classified: Classified) -> StoredRow:
    """The row at `index` as stored: its verdict, its cells, its values (with the mark the
    import chose, if it chose one) and, to update, its customer and changes."""
    values = parsed.values
    generated = index in classified.generated_marks
    if generated:
        values = {**values, "shipping_mark": classified.generated_marks[index]}
    return StoredRow(
        source_row=parsed.row,
        outcome=stored_rows.OUTCOMES[chr(classified.outcomes[index])],
        raw=storable(parsed.raw),
        values=values_list(values),
        mark_generated=generated,
        # Changes hold cleaned and stored values only: no NUL can be among them.
        customer_id=classified.matched.get(index),
        changes=classified.changes.get(index, ()),
    )


def _insert_errors(job: ImportJob, errors: list[tuple]) -> None:
    """(row, position, field, code, message, value) tuples as the job's ImportRowErrors, in one
    statement (a file of existing customers has three for each of its rows)."""
    if errors:
        bulk.insert_rows(
            ImportRowError,
            fields=("row", "position", "field", "code", "message", "value"),
            rows=errors,
            shared={"job": job.pk, "at_run": False},
        )


UPLOAD_CONFIRMED = "upload_confirmed"


def not_replaceable(job: ImportJob | None) -> ApplicationError:
    return ApplicationError(
        UPLOAD_CONFIRMED,
        "This upload was already confirmed (or cancelled); its mapping can no longer change.",
        status_code=status.HTTP_409_CONFLICT,
        errors={"status": job.status if job else None},
    )


def replaceable(job_id) -> ImportJob:
    """The job, row-locked for the transaction the caller is in, while it is still a preview;
    409 once it was confirmed (a confirm that races a remap either comes first, or queues the
    new preview)."""
    job = ImportJob.objects.select_for_update().filter(pk=job_id).first()
    if job is None or job.status != ImportJob.Status.PARSED:
        raise not_replaceable(job)
    return job
