"""python manage.py import_customers FILE [--mode create|update|update_only]
[--match phone|email|shipping_mark] [--blank-clears] [--map FIELD=COLUMN ...] [--dry-run]
[--as PHONE]

The same pipeline as the API: preview (printed), then the job runs here with a progress bar.
"""

import os
from functools import partial

from django.core.files.uploadedfile import UploadedFile
from django.core.management.base import BaseCommand, CommandError

from users.errors import FileError
from users.imports import jobs, parse, preview_columns, progress, read, reports, run
from users.imports.tasks import worker_id
from users.management.acting import acting_user
from users.management.output import run_with_progress
from users.models import ImportJob


class _PathUpload(UploadedFile):
    """A file on disk, shaped like an upload (the reader is given its path)."""

    def __init__(self, path: str):
        super().__init__(open(path, "rb"), name=os.path.basename(path), size=os.path.getsize(path))  # noqa: SIM115
        self._path = path

    def temporary_file_path(self) -> str:
        return self._path


def _mapping(pairs: list[str]) -> dict[str, str | None]:
    """--map FIELD=COLUMN pairs as a column_mapping (the pipeline says which are unknown)."""
    chosen: dict[str, str | None] = {}
    for pair in pairs:
        name, sep, column = pair.partition("=")
        if not sep or not name.strip():
            raise CommandError(f'--map takes FIELD=COLUMN (e.g. phone="Mobile No."), not {pair!r}.')
        chosen[name.strip()] = column.strip() or None
    return chosen


class Command(BaseCommand):
    help = "Import customers from a spreadsheet (xlsx, xls, xlsb, ods, csv)."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument(
            "--mode",
            choices=ImportJob.Mode.values,
            default=ImportJob.Mode.CREATE,
            help="create (default), update (matching customers are updated, the others created) "
            "or update_only (the others are reported).",
        )
        parser.add_argument(
            "--match",
            choices=ImportJob.Match.values,
            default=ImportJob.Match.PHONE,
            help="How a row finds its customer (default: phone).",
        )
        parser.add_argument(
            "--blank-clears",
            action="store_true",
            help="A blank email, company or nickname cell erases the stored value.",
        )
        parser.add_argument("--dry-run", action="store_true", help="Preview only; write nothing.")
        parser.add_argument(
            "--map",
            dest="mapping",
            action="append",
            default=[],
            metavar="FIELD=COLUMN",
            help='The column of a field, by header text or letter: --map phone="Mobile No." '
            "--map first_name=B; an empty COLUMN leaves the field out. Repeatable.",
        )
        parser.add_argument(
            "--as",
            dest="as_phone",
            help="Phone of the staff user the import is recorded for (default: a super admin).",
        )

    def handle(
        self,
        *args,
        file: str,
        dry_run: bool,
        as_phone: str | None,
        mode: str,
        match: str,
        blank_clears: bool,
        mapping: list[str],
        **options,
    ):
        owner = acting_user(as_phone)
        chosen = _mapping(mapping)
        if not os.path.isfile(file):
            raise CommandError(f"No such file: {file}")
        upload = _PathUpload(file)
        choices = parse.ImportOptions(mode=mode, match=match, blank_clears=blank_clears)
        try:
            job = read.preview_from_upload(
                owner=owner, upload=upload, options=choices, chosen=chosen
            )
        except FileError as error:
            raise CommandError(f"{error.code}: {error.message}") from None
        finally:
            upload.close()
        self._print_preview(job)
        if dry_run:
            job.delete()
            self.stdout.write("Dry run: nothing was written.")
            return
        job = jobs.import_job_queue(job=job)
        job = run_with_progress(
            self.stdout,
            job,
            run=partial(run.import_job_run, job_id=job.pk, worker_id=worker_id()),
            done=_done,
            total=job.to_write_count,
        )
        self.stdout.write(job.message)
        if job.skipped_count or job.failed_count:
            self.stdout.write(
                f"Rows not written: {job.skipped_count + job.failed_count:,}. Download them from "
                f"/api/auth/customers/excel/bulk-create/{job.pk}/errors.xlsx"
            )
        if job.status == ImportJob.Status.FAILED:
            raise CommandError("The import failed.")

    def _print_preview(self, job: ImportJob) -> None:
        self.stdout.write(reports.preview_message(job))
        mapping = ", ".join(f"{k} <- {v!r}" for k, v in preview_columns.column_mapping(job).items())
        self.stdout.write(f"Columns ({job.column_mapping['layout']}): {mapping}")
        for line in progress.job_status(job, viewer=job.owner)["errors"][:20]:
            self.stdout.write(f"  {line}")
        if job.to_update_count:
            rows = reports.preview_page(job, viewer=job.owner, name="update", page=1, page_size=20)[
                "results"
            ]
            for entry in rows:
                changes = ", ".join(
                    f"{c['field']}: {c['old']!r} -> {c['new']!r}" for c in entry["changes"]
                )
                self.stdout.write(
                    f"  Row {entry['source_row_number']} (customer #{entry['customer_id']}): "
                    f"{changes}"
                )


def _done(job: ImportJob) -> int:
    return job.created_count + job.updated_count + job.run_unchanged_count + job.failed_count
