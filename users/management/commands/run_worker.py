"""The task worker: django-tasks-db's db_worker, with the import watchdog running beside it.

The watchdog queues again any import whose worker went quiet for IMPORT_STALE_AFTER seconds (a
worker killed mid-job, a machine that vanished), so a job never waits for someone to look at it.
It is safe to run any number of these, on any number of machines, against one database."""

import logging
import threading

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import DatabaseError, connection

from users.import_jobs import import_jobs_recover_stale

logger = logging.getLogger(__name__)


def watchdog(stop: threading.Event, period: float) -> None:
    while not stop.is_set():
        try:
            import_jobs_recover_stale()
        except DatabaseError as error:
            logger.warning("[WATCHDOG] error=%s", type(error).__name__)
        finally:
            connection.close()
        stop.wait(period)


class Command(BaseCommand):
    help = "Run the background task worker with the stale-import watchdog."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=0.5, help="Queue poll interval (s).")
        parser.add_argument("--max-tasks", type=int, default=None)
        parser.add_argument("--worker-id", default=None)

    def handle(self, *args, interval: float, max_tasks: int | None, worker_id: str | None, **opts):
        stop = threading.Event()
        period = max(1.0, settings.IMPORT_STALE_AFTER / 3)
        thread = threading.Thread(
            target=watchdog, args=(stop, period), name="import-watchdog", daemon=True
        )
        thread.start()
        logger.info("[WORKER-START] watchdog_period_s=%.0f interval_s=%s", period, interval)
        options = {"interval": interval, "reload": False, "verbosity": opts.get("verbosity", 1)}
        if max_tasks:
            options["max_tasks"] = max_tasks
        if worker_id:
            options["worker_id"] = worker_id
        try:
            call_command("db_worker", **options)
        finally:
            stop.set()
            logger.info("[WORKER-STOP]")
