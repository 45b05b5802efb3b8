"""Where a preview's rows come from: an uploaded spreadsheet (read in a child process by
users.excel.reading), or the legacy JSON body {customers: [...]}."""

import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Iterator

from django.conf import settings

from users.errors import FILE_TOO_LARGE, NO_DATA, FileError
from users.imports import mappings
from users.imports.parse import CREATE_ONLY, MAX_CELL_CHARS, ImportOptions
from users.imports.preview import preview_create
from users.imports.store import PreviewSource
from users.models import ImportJob, User

logger = logging.getLogger(__name__)


def reader_limits():
    from users.excel.reading import ReaderLimits

    return ReaderLimits(
        max_bytes=settings.IMPORT_MAX_FILE_BYTES,
        max_cell_chars=MAX_CELL_CHARS,
        # The header row may come on top of IMPORT_MAX_ROWS data rows.
        max_rows=settings.IMPORT_MAX_ROWS + 1,
        memory_mb=settings.IMPORT_READER_MEMORY_MB,
        timeout_s=settings.IMPORT_READER_TIMEOUT,
    )


def _sha256_and_path(upload, spool) -> tuple[str, str]:
    """The upload's digest, and a path to its bytes on disk (the reader runs in a child process)."""
    digest = hashlib.sha256()
    path = upload.temporary_file_path() if hasattr(upload, "temporary_file_path") else None
    for piece in upload.chunks():
        digest.update(piece)
        if path is None:
            spool.write(piece)
    if path is None:
        spool.flush()
        path = spool.name
    return digest.hexdigest(), path


def preview_from_upload(
    *, owner: User, upload, options: ImportOptions = CREATE_ONLY, chosen: dict | None = None
) -> ImportJob:
    """An uploaded spreadsheet -> a PARSED job (or FileError for the file as a whole); `chosen`
    is the admin's column mapping over the header matching; without one, a mapping remembered
    for the file's headers is used (users.imports.mappings)."""
    from users.excel.reading import open_rows

    started = time.monotonic()
    if upload.size > settings.IMPORT_MAX_FILE_BYTES:
        raise FileError(
            FILE_TOO_LARGE,
            f"The file is larger than {settings.IMPORT_MAX_FILE_BYTES // (1024 * 1024)} MB.",
        )
    with tempfile.NamedTemporaryFile(prefix="primepre-upload-") as spool:
        sha256, path = _sha256_and_path(upload, spool)
        with open_rows(path, limits=reader_limits()) as stream:
            source = PreviewSource(
                file_name=os.path.basename(upload.name or "upload"),
                file_size=upload.size,
                file_sha256=sha256,
                file_type=stream.file_type,
                sheet_name=stream.sheet_name,
            )
            rows, recalled = mappings.mapping_recall(stream, chosen=chosen, options=options)
            job = preview_create(
                owner=owner,
                source=source,
                rows=rows,
                options=options,
                chosen=recalled.choices if recalled else chosen,
                remembered=recalled.note if recalled else None,
            )
    logger.info(
        "[IMPORT-UPLOAD] job=%s type=%s bytes=%s rows=%s ms=%d",
        job.pk,
        job.file_type,
        job.file_size,
        job.total_rows,
        (time.monotonic() - started) * 1000,
    )
    return job


# Keys of a legacy record that describe the record rather than hold a field.
_RECORD_META_KEYS = {"source_row_number", "row", "id", "shipping_mark_generated", "reason"}


def _record_rows(records: list[dict]) -> Iterator[tuple[int, list]]:
    """Legacy records as rows of a virtual sheet: a header row of their keys, then one row each.

    Rows keep the source_row_number the preview gave them when every record has a distinct one;
    otherwise they are numbered 2, 3, ... like a sheet under its header."""
    keys: list[str] = []
    for record in records:
        for key in record:
            if key not in keys and key not in _RECORD_META_KEYS and len(keys) < 64:
                keys.append(key)
    numbers = [record.get("source_row_number") for record in records]
    given = all(isinstance(n, int) and not isinstance(n, bool) and n > 1 for n in numbers)
    if not given or len(set(numbers)) != len(numbers):
        numbers = list(range(2, len(records) + 2))
    yield 1, list(keys)
    for number, record in zip(numbers, records, strict=True):
        yield number, [_scalar(record.get(key)) for key in keys]


def _scalar(value: object) -> object:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def preview_from_records(*, owner: User, records: list[dict]) -> ImportJob:
    """The legacy body {customers: [...]}: validated again exactly like an uploaded file."""
    if not records:
        raise FileError(NO_DATA, "The list of customers is empty.")
    canonical = json.dumps(records, sort_keys=True, default=str).encode()
    source = PreviewSource(
        file_name="(customers list)",
        file_size=len(canonical),
        file_sha256=hashlib.sha256(canonical).hexdigest(),
        file_type="json",
    )
    return preview_create(
        owner=owner, source=source, rows=_record_rows(records), header_required=True
    )
