"""The task worker: django-tasks-db's db_worker (or, with TASKS_BACKEND=rq, django-rq's
rqworker), with the import watchdog running beside it.

The watchdog queues again any import whose worker went quiet for IMPORT_STALE_AFTER seconds (a
worker killed mid-job, a machine that vanished), so a job never waits for someone to look at it,
and once an hour deletes the stored rows that are no longer kept (import_jobs_prune).
It is safe to run any number of these, on any number of machines, against one database."""

import logging
import threading
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import DatabaseError, connection

from users.imports.jobs import import_jobs_prune, import_jobs_recover_stale
from users.messaging.sms import warn_if_disabled

logger = logging.getLogger(__name__)


PRUNE_EVERY_SECONDS = 3600


def watchdog(stop: threading.Event, period: float) -> None:
    last_prune = 0.0
    while not stop.wait(period):
        try:
            import_jobs_recover_stale()
            if time.monotonic() - last_prune > PRUNE_EVERY_SECONDS:
                import_jobs_prune()
                last_prune = time.monotonic()
        except DatabaseError as error:
            logger.warning("[WATCHDOG] error=%s", type(error).__name__)
        finally:
            connection.close()


class Command(BaseCommand):
    help = "Run the background task worker with the stale-import watchdog."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=0.5, help="Queue poll interval (s).")
        parser.add_argument("--max-tasks", type=int, default=None)
        parser.add_argument("--batch", action="store_true", help="Run what is queued, then exit.")
        parser.add_argument("--worker-id", default=None)
        parser.add_argument(
            "--rq-worker-class",
            default=None,
            help="RQ only: the worker class (rq.SimpleWorker runs tasks without forking).",
        )

    def handle(
        self,
        *args,
        interval: float,
        max_tasks: int | None,
        worker_id: str | None,
        batch: bool,
        **opts,
    ):
        warn_if_disabled()
        # Jobs left behind by a worker that died are queued before the first task is taken.
        import_jobs_recover_stale()
        stop = threading.Event()
        period = max(1.0, settings.IMPORT_STALE_AFTER / 3)
        thread = threading.Thread(
            target=watchdog, args=(stop, period), name="import-watchdog", daemon=True
        )
        thread.start()
        logger.info("[WORKER-START] watchdog_period_s=%.0f interval_s=%s", period, interval)
        if settings.TASKS["default"]["BACKEND"].startswith("django_tasks_rq."):
            command, options = (
                "rqworker",
                {
                    "burst": batch,
                    "job_class": "django_tasks_rq.Job",
                    "worker_class": opts.get("rq_worker_class"),
                    "max_jobs": max_tasks,
                    "name": worker_id,
                },
            )
            arguments = ["default"]
        else:
            command, options = (
                "db_worker",
                {
                    "interval": interval,
                    "reload": False,
                    "batch": batch,
                    "max_tasks": max_tasks,
                    "worker_id": worker_id,
                },
            )
            arguments = []
        options = {key: value for key, value in options.items() if value is not None}
        options["verbosity"] = opts.get("verbosity", 1)
        try:
            call_command(command, *arguments, **options)
        finally:
            stop.set()
            logger.info("[WORKER-STOP]")
