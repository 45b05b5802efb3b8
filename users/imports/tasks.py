"""Background tasks (Django's tasks API) and their queueing. A task takes an id and calls a
service; it is queued once the transaction that made its job commits.

On Postgres a worker waiting for work is woken as soon as a task is queued (LISTEN/NOTIFY on
WAKE_CHANNEL: the web process notifies, run_worker listens), not on its next poll."""

import logging
import os
import select
import socket
import time
import uuid
from functools import partial
from typing import Any

from django.db import connections, transaction
from django.dispatch import receiver
from django_tasks import task
from django_tasks.signals import task_enqueued
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from users.imports import run, undo
from users.imports.leases import RunOutcome
from users.messaging import invites
from users.messaging.tasks import invites_send_until_stopped
from users.models import ImportJob
from users.workers import stop_requested_on_signals

logger = logging.getLogger(__name__)

WAKE_CHANNEL = "primepre_tasks"


def worker_id() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@task()
def import_job_task(job_id: str) -> str:
    with stop_requested_on_signals() as stop:
        outcome = run.import_job_run(
            job_id=job_id,
            worker_id=worker_id(),
            should_stop=stop.is_set,
            on_created=partial(invites_enqueue, job_id),
        )
    if outcome == RunOutcome.RELEASED:
        # This worker is stopping; the job is QUEUED again and waits for the next one.
        import_job_enqueue(job_id)
    return outcome


@task()
def import_undo_task(undo_id: int) -> str:
    with stop_requested_on_signals() as stop:
        outcome = undo.import_undo_run(
            undo_id=undo_id, worker_id=worker_id(), should_stop=stop.is_set
        )
    if outcome == RunOutcome.RELEASED:
        import_undo_enqueue(undo_id)
    return outcome


@task()
def import_job_invites_task(job_id: str, source_rows: list[int]) -> dict[str, object]:
    user_ids, owner_id = invites.import_job_invitees(job_id=job_id, source_rows=source_rows)
    return invites_send_until_stopped(user_ids=user_ids, created_by_id=owner_id, job_id=job_id)


def _enqueue(job_id: uuid.UUID | str) -> None:
    result = import_job_task.enqueue(job_id=str(job_id))
    ImportJob.objects.filter(pk=job_id).update(task_result_id=str(result.id)[:64])


def import_job_enqueue(job_id: uuid.UUID | str) -> None:
    """Queues the job's task once the current transaction commits (so the worker sees the job)."""
    transaction.on_commit(partial(_enqueue, job_id))


def import_undo_enqueue(undo_id: int) -> None:
    """Queues the undo's task once the current transaction commits."""
    transaction.on_commit(partial(import_undo_task.enqueue, undo_id=undo_id))


def invites_enqueue(job_id: uuid.UUID | str, source_rows: list[int]) -> None:
    """Queues the invites of the customers created from these rows (run calls this once their
    batch has committed)."""
    import_job_invites_task.enqueue(job_id=str(job_id), source_rows=source_rows)


@receiver(task_enqueued)
def _wake_workers(sender: object, **kwargs: object) -> None:
    """A task went into the database queue: NOTIFY the listening workers (Postgres delivers it
    when the transaction that queued the task commits, so a woken worker finds the task)."""
    if not (isinstance(sender, type) and issubclass(sender, DatabaseBackend)):
        return
    connection = connections[DBTaskResult.objects.db]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"NOTIFY {WAKE_CHANNEL}")


class Wakeup:
    """What a worker waits on between looks at the database queue: on Postgres a connection of
    its own that LISTENs on WAKE_CHANNEL, so a queued task ends the wait at once and `timeout`
    is only the fallback; elsewhere (SQLite) a plain sleep of `timeout`, a short poll.

    The connection is opened before the worker's first look at the queue, so no notification
    can fall between a look and the wait after it; a lost connection (a restarted or
    terminated backend) is reopened at the next wait, the poll covering the moment between."""

    def __init__(self, *, using: str | None = None):
        # A backend's Database (its DB-API module) is missing from the stubs: the ignores below.
        self._database = connections[using or DBTaskResult.objects.db]
        self._listener: Any = None  # psycopg2's connection (the library has no types)
        if self._database.vendor == "postgresql":
            self._listen()

    def _listen(self) -> Any:
        try:
            raw = self._database.get_new_connection(self._database.get_connection_params())
            raw.autocommit = True
            with raw.cursor() as cursor:
                cursor.execute(f"LISTEN {WAKE_CHANNEL}")
        except self._database.Database.Error as error:  # type: ignore[attr-defined]
            logger.warning("[WORKER-LISTEN] error=%s", type(error).__name__)
            return None
        self._listener = raw
        return raw

    def wait(self, timeout: float) -> bool:
        """Waits up to `timeout` seconds; True if woken by a queued task."""
        if self._database.vendor != "postgresql":
            time.sleep(timeout)
            return False
        listener = self._listener if self._listener is not None else self._listen()
        if listener is None:
            time.sleep(timeout)
            return False
        deadline = time.monotonic() + timeout
        try:
            # The socket can be readable for other messages than a notification: wait on.
            while not listener.notifies and (remaining := deadline - time.monotonic()) > 0:
                select.select([listener], [], [], remaining)
                listener.poll()
        except (self._database.Database.Error, OSError) as error:  # type: ignore[attr-defined]
            logger.warning("[WORKER-LISTEN] error=%s", type(error).__name__)
            # Listening again before the caller's next look at the queue leaves no moment in
            # which a notification could be missed.
            self.close()
            self._listen()
            return False
        woken = bool(listener.notifies)
        listener.notifies.clear()
        return woken

    def close(self) -> None:
        if self._listener is not None:
            try:
                self._listener.close()
            finally:
                self._listener = None
