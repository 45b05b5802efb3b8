"""The preview, stage by stage: read -> map -> validate and stage -> classify -> store.

  read      users.imports.read: an uploaded file's rows (users.excel.reading), or the legacy
            JSON body's; users.imports.remap: a stored upload's rows again
  map       users.imports.parse.map_rows: which column holds which field
  validate  users.imports.parse.parse_rows: every field of every row, every problem kept; the
            rows go to the staging table as they come (users.imports.stored_rows.stage, by
            COPY), each with the verdict it has if nothing clashes, their problems as row errors
  classify  users.imports.classify: the verdicts of the rows SQL names as clashing with a
            stored customer or another row (users.imports.clashes), marks chosen
            (users.imports.marks)
  store     users.imports.store: those verdicts, the row errors, the job's counts (PARSED)

All of it is one transaction: a file refused half-way leaves nothing. Nothing here writes a
customer.
"""

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from django.conf import settings
from django.db import transaction

from users.customers.rules import FieldProblem
from users.errors import NO_DATA, FileError
from users.excel.columns import ColumnMap
from users.imports import store
from users.imports.classify import classify
from users.imports.classify_rules import CreateProblems
from users.imports.parse import CREATE_ONLY, ImportOptions, map_rows, parse_rows
from users.imports.store import PreviewSource
from users.imports.stored_rows import stage
from users.models import ImportJob, User

logger = logging.getLogger(__name__)

# Rows staged by one COPY (and row errors written by one statement): a 100,000-row preview
# holds one block in memory, never its rows.
STAGE_BLOCK_ROWS = 2000


@dataclass
class Staged:
    """What staging a file's rows found: how many, the widest row, and what the valid rows
    of an update lack to be created."""

    total: int = 0
    width: int = 0
    create_problems: CreateProblems = field(default_factory=dict)


def _stage_rows(
    job: ImportJob,
    data_rows: Iterable[tuple[int, list[Any]]],
    column_map: ColumnMap,
    options: ImportOptions,
    carried: dict[int, list[FieldProblem]] | None,
) -> Staged:
    """Every row validated and staged, block by block, with its problems as row errors."""
    staged = Staged(width=len(column_map.headers))
    block: list[tuple[Any, ...]] = []
    errors: list[tuple[Any, ...]] = []
    for position, parsed in enumerate(
        parse_rows(data_rows, column_map, max_rows=settings.IMPORT_MAX_ROWS, options=options)
    ):
        if carried and parsed.row in carried:
            parsed.problems += carried[parsed.row]
        block.append(store.staged_row(position, parsed, options))
        if parsed.problems:
            errors += store.row_errors(parsed.row, position, parsed.problems)
        elif parsed.create_problems:
            staged.create_problems[position] = (parsed.row, parsed.create_problems)
        staged.width = max(staged.width, len(parsed.raw))
        staged.total = position + 1
        if len(block) == STAGE_BLOCK_ROWS:
            stage(job.pk, block)
            block = []
        if len(errors) >= STAGE_BLOCK_ROWS:
            store.errors_insert(job.pk, errors)
            errors = []
    stage(job.pk, block)
    store.errors_insert(job.pk, errors)
    return staged


def preview_create(
    *,
    owner: User,
    source: PreviewSource,
    rows: Iterable[tuple[int, list[Any]]],
    header_required: bool = False,
    options: ImportOptions = CREATE_ONLY,
    chosen: Mapping[str, object] | None = None,
    layout: str | None = None,
    replacing: ImportJob | None = None,
    carried: dict[int, list[FieldProblem]] | None = None,
    remembered: dict[str, Any] | None = None,
) -> ImportJob:
    """Reads, validates, stages and classifies every row, and stores a PARSED job (or,
    `replacing`, stores the new preview in that job). Writes no customer. `chosen` is the
    admin's column mapping; `carried` holds problems by row that the rows no longer show (a
    remap's rows were stored within the row caps); `remembered` notes that `chosen` is a
    remembered mapping (users.imports.mappings)."""
    started = time.monotonic()
    column_map, data_rows = map_rows(
        rows, header_required=header_required, options=options, chosen=chosen, layout=layout
    )
    if remembered:
        column_map = replace(column_map, remembered=remembered)
    with transaction.atomic():
        job = store.job_begin(owner=owner, source=source, options=options, replacing=replacing)
        staged = _stage_rows(job, data_rows, column_map, options, carried)
        if not staged.total:
            raise FileError(NO_DATA, "The file has a header row but no data rows.")
        parsed_at = time.monotonic()
        classified = classify(
            job.pk, viewer=owner, options=options, create_problems=staged.create_problems
        )
        classified_at = time.monotonic()
        store.preview_finish(
            job,
            source=source,
            column_map=column_map,
            width=staged.width,
            total=staged.total,
            classified=classified,
            create_problems=staged.create_problems,
        )
    logger.info(
        "[IMPORT-PREVIEW] job=%s type=%s mode=%s rows=%s create=%s update=%s unchanged=%s "
        "invalid=%s existing=%s batch=%s stage_ms=%d classify_ms=%d store_ms=%d",
        job.pk,
        source.file_type,
        job.mode,
        job.total_rows,
        job.to_create_count,
        job.to_update_count,
        job.unchanged_count,
        job.invalid_count,
        job.existing_duplicate_count,
        job.batch_duplicate_count,
        (parsed_at - started) * 1000,
        (classified_at - parsed_at) * 1000,
        (time.monotonic() - classified_at) * 1000,
    )
    return job
