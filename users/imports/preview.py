"""The preview, stage by stage: read -> map -> validate -> classify -> store.

  read      users.imports.read: an uploaded file's rows (users.excel.reading), or the legacy
            JSON body's; users.imports.remap: a stored upload's rows again
  map       users.imports.parse.map_rows: which column holds which field
  validate  users.imports.parse.parse_rows: every field of every row, every problem kept;
            the rows go to the spool (users.imports.spool), their keys stay in memory
  classify  users.imports.classify: each row's verdict, marks chosen (users.imports.marks)
  store     users.imports.store: the job (PARSED), its rows, its row errors

Only classify and store touch the database; nothing here writes a customer.
"""

import logging
import tempfile
import time
from collections.abc import Iterable
from dataclasses import replace
from functools import partial
from typing import IO

from django.conf import settings

from users.customers.rules import FieldProblem
from users.errors import NO_DATA, FileError
from users.excel.columns import ColumnMap
from users.imports.classify import RowKeys, classify, keys_of
from users.imports.parse import CREATE_ONLY, ImportOptions, map_rows, parse_rows
from users.imports.spool import SPOOL_BLOCK_ROWS, spool_block, spooled_values
from users.imports.store import PreviewSource, preview_store
from users.models import ImportJob, User

logger = logging.getLogger(__name__)


def _parse_to_spool(
    data_rows: Iterable[tuple[int, list]],
    column_map: ColumnMap,
    spool: IO[bytes],
    options: ImportOptions,
    carried: dict[int, list[FieldProblem]] | None,
) -> tuple[list[RowKeys], int]:
    """Every row validated: the rows to the spool, their keys kept (and returned, with the
    widest row's width)."""
    keys: list[RowKeys] = []
    width = len(column_map.headers)
    block: list[tuple] = []
    for index, parsed in enumerate(
        parse_rows(data_rows, column_map, max_rows=settings.IMPORT_MAX_ROWS, options=options)
    ):
        if carried and parsed.row in carried:
            parsed.problems += carried[parsed.row]
        problems = [(p.field, p.code, p.message, p.value) for p in parsed.problems]
        block.append((parsed.row, parsed.raw, parsed.values, problems, parsed.given))
        if len(block) == SPOOL_BLOCK_ROWS:
            spool_block(spool, block)
            block = []
        keys.append(keys_of(index, parsed))
        width = max(width, len(parsed.raw))
    spool_block(spool, block)
    return keys, width


def preview_create(
    *,
    owner: User,
    source: PreviewSource,
    rows: Iterable[tuple[int, list]],
    header_required: bool = False,
    options: ImportOptions = CREATE_ONLY,
    chosen: dict | None = None,
    layout: str | None = None,
    replacing: ImportJob | None = None,
    carried: dict[int, list[FieldProblem]] | None = None,
    remembered: dict | None = None,
) -> ImportJob:
    """Reads, validates and classifies every row, and stores a PARSED job (or, `replacing`,
    stores the new preview in that job). Writes no customer. `chosen` is the admin's column
    mapping; `carried` holds problems by row that the rows no longer show (a remap's rows were
    stored within the row caps); `remembered` notes that `chosen` is a remembered mapping
    (users.imports.mappings)."""
    started = time.monotonic()
    column_map, data_rows = map_rows(
        rows, header_required=header_required, options=options, chosen=chosen, layout=layout
    )
    if remembered:
        column_map = replace(column_map, remembered=remembered)
    with tempfile.TemporaryFile(prefix="primepre-import-") as spool:
        keys, width = _parse_to_spool(data_rows, column_map, spool, options, carried)
        if not keys:
            raise FileError(NO_DATA, "The file has a header row but no data rows.")
        parsed_at = time.monotonic()
        classified = classify(
            keys, viewer=owner, options=options, values_of=partial(spooled_values, spool)
        )
        classified_at = time.monotonic()
        spool.seek(0)
        job = preview_store(
            owner=owner,
            source=source,
            options=options,
            column_map=column_map,
            width=width,
            spool=spool,
            total=len(keys),
            classified=classified,
            replacing=replacing,
        )
    logger.info(
        "[IMPORT-PREVIEW] job=%s type=%s mode=%s rows=%s create=%s update=%s unchanged=%s "
        "invalid=%s existing=%s batch=%s parse_ms=%d classify_ms=%d store_ms=%d",
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
