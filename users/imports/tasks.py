"""Background tasks (Django's tasks API) and their queueing. A task takes an id and calls a
service; it is queued once the transaction that made its job commits."""

import os
import signal
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

from django.db import transaction
from django_tasks import task

from users.imports import run
from users.messaging import invites
from users.models import ImportJob


@contextmanager
def stop_requested_on_signals() -> Iterator[threading.Event]:
    """An event set by SIGTERM/SIGINT while the block runs, so a job can stop between batches.

    The previous handler still runs: db_worker then takes no further task and exits when this one
    returns; its second signal still stops the process at once."""
    event = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield event
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def handler(signum, frame):
        already = event.is_set()
        event.set()
        chained = previous[signum]
        if callable(chained):
            chained(signum, frame)
        elif already:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    for sig in previous:
        signal.signal(sig, handler)
    try:
        yield event
    finally:
        for sig, chained in previous.items():
            signal.signal(sig, chained)


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
    if outcome == "released":
        # This worker is stopping; the job is QUEUED again and waits for the next one.
        import_job_enqueue(job_id)
    return outcome


@task()
def import_job_invites_task(job_id: str, source_rows: list[int]) -> list[int]:
    return list(invites.import_job_send_invites(job_id=job_id, source_rows=source_rows))


def _enqueue(job_id) -> None:
    result = import_job_task.enqueue(job_id=str(job_id))
    ImportJob.objects.filter(pk=job_id).update(task_result_id=str(result.id)[:64])


def import_job_enqueue(job_id) -> None:
    """Queues the job's task once the current transaction commits (so the worker sees the job)."""
    transaction.on_commit(partial(_enqueue, job_id))


def invites_enqueue(job_id, source_rows: list[int]) -> None:
    """Queues the invites of the customers created from these rows (run calls this once their
    batch has committed)."""
    import_job_invites_task.enqueue(job_id=str(job_id), source_rows=source_rows)
