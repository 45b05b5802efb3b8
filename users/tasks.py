"""Background tasks (Django's tasks API). A task takes an id and calls a service."""

import os
import signal
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django_tasks import task

from users import import_jobs, notifications


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
        return import_jobs.import_job_run(
            job_id=job_id, worker_id=worker_id(), should_stop=stop.is_set
        )


@task()
def import_job_invites_task(job_id: str, source_rows: list[int]) -> list[int]:
    return list(notifications.import_job_send_invites(job_id=job_id, source_rows=source_rows))
