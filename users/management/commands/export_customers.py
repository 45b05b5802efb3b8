"""python manage.py export_customers OUT.xlsx|OUT.csv [--region R] [--search S] [--created-by ID]
[--import-job UUID] [--ordering FIELD]

The same export as the API's download, written to a file with a progress bar.
"""

import os
import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from users.customers import export, selectors
from users.management.output import progress_bar, validation_text

# Options that are list filters of the same name.
FILTERS = ("region", "search", "created_by", "import_job", "ordering")


class Command(BaseCommand):
    help = "Export customers to an xlsx or csv file (the format follows the file's extension)."

    def add_arguments(self, parser):
        parser.add_argument("out", help="The file to write: a path ending in .xlsx or .csv.")
        parser.add_argument("--region", help="A region code, e.g. GREATER_ACCRA.")
        parser.add_argument("--search", help="Name, phone (any format), email or shipping mark.")
        parser.add_argument("--created-by", help="Id of the user who created the customers.")
        parser.add_argument("--import-job", help="Id of the import that created the customers.")
        parser.add_argument(
            "--ordering", help="A list ordering, e.g. -date_joined (the default) or first_name."
        )

    def handle(self, *args, out: str, **options):
        file_format = os.path.splitext(out)[1].lower().lstrip(".")
        if file_format not in export.FORMATS:
            raise CommandError(f"OUT must end in .xlsx or .csv, not {out!r}.")
        filters = {name: options[name] for name in FILTERS if options.get(name) is not None}
        try:
            total = selectors.customer_list(actor=None, filters=filters).count()
        except ValidationError as error:
            raise CommandError(validation_text(error)) from None

        started = time.monotonic()
        progress = _Progress(self.stdout, total)
        progress(0)
        if file_format == export.XLSX:
            export.customers_export_xlsx(actor=None, filters=filters, target=out, on_row=progress)
        else:
            with open(out, "w", encoding="utf-8", newline="") as handle:
                for piece in export.customers_export_csv(
                    actor=None, filters=filters, on_row=progress
                ):
                    handle.write(piece)
        seconds = time.monotonic() - started
        if progress.drawn:
            self.stdout.write("")
        self.stdout.write(f"Exported {progress.done:,} customers to {out} in {seconds:.1f} s.")


class _Progress:
    """The export's on_row: remembers the count, and redraws a bar in place on a terminal."""

    def __init__(self, stdout, total: int):
        self.stdout = stdout
        self.total = total
        self.done = 0
        self.drawn = False

    def __call__(self, done: int) -> None:
        self.done = done
        if self.stdout.isatty():
            self.stdout.write("\r" + progress_bar(done, self.total), ending="")
            self.stdout.flush()
            self.drawn = True
