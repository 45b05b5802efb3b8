"""The task worker: django-tasks-db's worker (or, with TASKS_BACKEND=rq, django-rq's rqworker),
with the import watchdog running beside it.

With the database queue the worker runs every task that is ready, then waits for the next: on
Postgres until a task is queued (LISTEN/NOTIFY, users.imports.tasks.Wakeup), with --interval as
the fallback poll; elsewhere it polls every --interval seconds (0.1 by default). A confirmed
import starts at once instead of on the next tick of a fixed timer.

The watchdog queues again any import whose worker went quiet for IMPORT_STALE_AFTER seconds (a
worker killed mid-job, a machine that vanished), so a job never waits for someone to look at it,
and once an hour deletes the stored rows that are no longer kept (import_jobs_prune) and the
queue's task results finished more than a day ago.
It is safe to run any number of these, on any number of machines, against one database."""

import logging
import signal
import threading
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import DatabaseError, connection
from django.utils.crypto import get_random_string
from django_tasks.signals import task_finished
from django_tasks_db.compat import DEFAULT_TASK_BACKEND_ALIAS, DEFAULT_TASK_QUEUE_NAME
from django_tasks_db.management.commands.db_worker import Worker

from primepre.collector import freeze_start_up_objects
from users.imports import tasks
from users.imports.jobs import (
    import_jobs_prune,
    import_jobs_recover_stale,
    import_undos_recover_stale,
)
from users.messaging.sms import warn_if_disabled

logger = logging.getLogger(__name__)


PRUNE_EVERY_SECONDS = 3600
# The database queue: how often a worker looks when nothing can wake it (SQLite), and how often
# on Postgres, where a queued task wakes it, in case a notification was missed.
POLL_SECONDS = 0.1
FALLBACK_POLL_SECONDS = 5.0


def prune_task_results() -> None:
    """Deletes the database queue's task results finished more than a day ago (with their
    arguments: ids, and the phone a sign-up notice was texted to), by django-tasks-db's own
    command. Redis (TASKS_BACKEND=rq) expires its results by itself."""
    if settings.TASKS["default"]["BACKEND"] == "django_tasks_db.DatabaseBackend":
        call_command(
            "prune_db_task_results", "--min-age-days", "1", "--queue-name", "*", verbosity=0
        )


def watchdog(stop: threading.Event, period: float) -> None:
    last_prune = 0.0
    while not stop.wait(period):
        try:
            import_jobs_recover_stale()
            import_undos_recover_stale()
            if time.monotonic() - last_prune > PRUNE_EVERY_SECONDS:
                import_jobs_prune()
                prune_task_results()
                last_prune = time.monotonic()
        except DatabaseError as error:
            logger.warning("[WATCHDOG] error=%s", type(error).__name__)
        finally:
            connection.close()


class Command(BaseCommand):
    help = "Run the background task worker with the stale-import watchdog."
    # No system checks at start: they import the URLconf, and with it every view and the API
    # schema, which this process never serves: 12 MB of its RSS for as long as it runs
    # (bench/bench_memory.py). The web process serves them, and `manage.py migrate` runs the
    # checks on every deploy.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--interval",
            type=float,
            default=None,
            help="Seconds between looks at the queue when nothing wakes the worker (default: "
            f"{POLL_SECONDS} s; on Postgres a queued task wakes it at once, and the default "
            f"fallback is {FALLBACK_POLL_SECONDS} s).",
        )
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
        freeze_start_up_objects()
        # Jobs left behind by a worker that died are queued before the first task is taken.
        import_jobs_recover_stale()
        import_undos_recover_stale()
        stop = threading.Event()
        period = max(1.0, settings.IMPORT_STALE_AFTER / 3)
        thread = threading.Thread(
            target=watchdog, args=(stop, period), name="import-watchdog", daemon=True
        )
        thread.start()
        logger.info("[WORKER-START] watchdog_period_s=%.0f interval_s=%s", period, interval)
        try:
            if settings.TASKS["default"]["BACKEND"].startswith("django_tasks_rq."):
                options = {
                    "burst": batch,
                    "job_class": "django_tasks_rq.Job",
                    "worker_class": opts.get("rq_worker_class"),
                    "max_jobs": max_tasks,
                    "name": worker_id,
                }
                options = {key: value for key, value in options.items() if value is not None}
                call_command("rqworker", "default", verbosity=opts.get("verbosity", 1), **options)
            else:
                run_database_queue(
                    interval=interval, batch=batch, max_tasks=max_tasks, worker_id=worker_id
                )
        finally:
            stop.set()
            logger.info("[WORKER-STOP]")


def run_database_queue(
    *, interval: float | None, batch: bool, max_tasks: int | None, worker_id: str | None
) -> None:
    """django-tasks-db's Worker in rounds: each round runs every task that is ready and returns
    (its batch mode); between rounds the worker waits on the wake-up instead of a fixed sleep."""
    wakeup = tasks.Wakeup()
    listening = connection.vendor == "postgresql"
    if interval is None:
        interval = FALLBACK_POLL_SECONDS if listening else POLL_SECONDS
    ran = {"tasks": 0}

    def count(**kwargs):
        ran["tasks"] += 1

    worker = Worker(
        queue_names=[DEFAULT_TASK_QUEUE_NAME],
        interval=min(interval, POLL_SECONDS),
        batch=True,
        backend_name=DEFAULT_TASK_BACKEND_ALIAS,
        startup_delay=False,
        max_tasks=max_tasks,
        worker_id=worker_id or get_random_string(32),
        excluded_queue_names=[],
    )
    previous_handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    worker.configure_signals()
    # Its "Starting worker" and "No more tasks" lines would come once a round; its warnings and
    # errors still show.
    logging.getLogger("django_tasks_db").setLevel(logging.WARNING)
    task_finished.connect(count)
    logger.info("[WORKER-QUEUE] listening=%s interval_s=%s", listening, interval)
    try:
        while worker.running:
            worker.run()
            if batch or (max_tasks is not None and ran["tasks"] >= max_tasks):
                return
            wakeup.wait(interval)
    finally:
        task_finished.disconnect(count)
        wakeup.close()
        for sig, handler in previous_handlers.items():
            signal.signal(sig, handler)
