"""A stored upload read again with another column mapping (the file is not kept)."""

import logging
import tempfile
from collections.abc import Iterator
from typing import IO, Any

from users.customers.rules import TOO_LONG, FieldProblem
from users.excel.cells import CutText
from users.imports import stored_rows
from users.imports.parse import CUT_MARK, MAX_CELL_CHARS, ImportOptions
from users.imports.preview import preview_create
from users.imports.spool import spool_rows, spooled
from users.imports.store import PreviewSource, not_replaceable
from users.models import ImportJob, ImportRowError

logger = logging.getLogger(__name__)


def restored_cells(raw: list[Any]) -> list[Any]:
    """A stored row's cells as the reader gave them, as far as the stored row can tell: a text
    cell stored cut (MAX_CELL_CHARS long, ending in CUT_MARK) is a cut cell again."""
    return [
        CutText(cell[:-1], 0)
        if isinstance(cell, str) and len(cell) == MAX_CELL_CHARS and cell.endswith(CUT_MARK)
        else cell
        for cell in raw
    ]


def _row_length_problems(job: ImportJob) -> dict[int, list[FieldProblem]]:
    """The rows that held more than MAX_ROW_CHARS: only their cut form is stored, so a remap
    keeps the problem the upload found."""
    found: dict[int, list[FieldProblem]] = {}
    for row, message in ImportRowError.objects.filter(
        job=job, field="", code=TOO_LONG, message__startswith="The row holds"
    ).values_list("row", "message"):
        found.setdefault(row, []).append(FieldProblem("", TOO_LONG, message, ""))
    return found


def preview_remap(*, job: ImportJob, chosen: dict[str, object]) -> ImportJob:
    """The upload read again from its stored rows (the file is not kept) with the admin's column
    mapping over the header matching: validated and classified anew (with the upload's mode and
    match key), stored in the same job."""
    # A preview keeps its rows while it is one (users.imports.jobs.import_jobs_prune deletes a
    # preview never confirmed whole, and only a finished job's rows on their own).
    if job.status != ImportJob.Status.PARSED:
        raise not_replaceable(job)
    layout = job.column_mapping.get("layout", "header")
    header_row = job.column_mapping.get("header_row") or 1

    def rows(spool: IO[bytes]) -> Iterator[tuple[int, list[Any]]]:
        if layout == "header":
            yield header_row, list(job.headers)
        for source_row, raw in spooled(spool):
            yield source_row, restored_cells(raw)

    source = PreviewSource(
        file_name=job.file_name,
        file_size=job.file_size,
        file_sha256=job.file_sha256,
        file_type=job.file_type,
        sheet_name=job.column_mapping.get("sheet"),
    )
    # The staged rows go to a spool first: the new preview replaces them as it stages its own.
    with tempfile.TemporaryFile(prefix="primepre-remap-") as spool:
        spool_rows(spool, ((row.source_row, row.raw) for row in stored_rows.StoredRows(job.pk)))
        remapped = preview_create(
            owner=job.owner,
            source=source,
            rows=rows(spool),
            options=ImportOptions(mode=job.mode, match=job.match, blank_clears=job.blank_clears),
            chosen=chosen,
            layout=layout,
            replacing=job,
            carried=_row_length_problems(job),
        )
    logger.info(
        "[IMPORT-REMAP] job=%s layout=%s chosen=%s rows=%s",
        job.pk,
        layout,
        ",".join(sorted(chosen)),
        remapped.total_rows,
    )
    return remapped
