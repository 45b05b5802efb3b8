"""Deletes stored rows that are no longer kept (the task worker's watchdog does it hourly)."""

from django.core.management.base import BaseCommand

from users.imports.jobs import import_jobs_prune


class Command(BaseCommand):
    help = "Delete old previews and the stored rows of old finished imports."

    def handle(self, *args, **options):
        previews, finished = import_jobs_prune()
        self.stdout.write(f"Deleted {previews} previews; deleted the rows of {finished} imports.")
