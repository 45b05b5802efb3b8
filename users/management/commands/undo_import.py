"""python manage.py undo_import TASK_ID [--as PHONE]

Undoes an import as the API's undo does (users.imports.undo): the customers it created are
deleted and the fields it updated restored, except customers changed since or who have signed
in, which are listed. The undo runs here with a progress bar (a worker that gets to it first
runs it instead; the bar follows it either way); run again, it goes on from its checkpoint.
"""

from functools import partial

from django.core.management.base import BaseCommand, CommandError

from users.errors import ApplicationError
from users.imports import jobs, undo
from users.imports.tasks import worker_id
from users.management.acting import acting_user
from users.management.output import run_with_progress
from users.models import ImportJob, ImportUndo


class Command(BaseCommand):
    help = "Undo an import: delete the customers it created, restore the fields it updated."

    def add_arguments(self, parser):
        parser.add_argument("task_id")
        parser.add_argument(
            "--as",
            dest="as_phone",
            help="Phone of the staff user the undo is recorded for (default: a super admin).",
        )

    def handle(self, *args, task_id: str, as_phone: str | None, **options):
        actor = acting_user(as_phone)
        try:
            record, _ = jobs.import_undo_request(job_id=task_id, user=actor)
        except ApplicationError as error:
            raise CommandError(f"{error.code}: {error.message}") from None
        jobs.import_undos_recover_stale(undo_ids=[record.pk])
        record = run_with_progress(
            self.stdout,
            record,
            run=partial(undo.import_undo_run, undo_id=record.pk, worker_id=worker_id()),
            done=_done,
            total=record.to_delete_count + record.to_restore_count,
        )
        self.stdout.write(record.message)
        for kept in record.kept.all()[:50]:
            self.stdout.write(f"  Customer #{kept.customer_id} ({kept.action}): {kept.message}")
        if record.kept_count > 50:
            self.stdout.write(f"  ... and {record.kept_count - 50:,} more.")
        if record.status == ImportJob.Status.FAILED:
            raise CommandError("The undo failed.")


def _done(record: ImportUndo) -> int:
    return record.deleted_count + record.restored_count + record.kept_count
