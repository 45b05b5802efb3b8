"""The task wrapper: a stop signal is noticed between batches, the worker's own handler still
runs, and a job released by a stopping worker is queued again. The wake-up: a waiting worker
runs a task as soon as it is queued (LISTEN/NOTIFY on Postgres, a short poll elsewhere)."""

import os
import signal

import pytest
from django.core.management import call_command
from django.db import connection

from tests.factories import StaffFactory
from tests.imports.helpers import preview, queue, records
from users.imports import run, tasks
from users.models import ImportJob
from users.workers import stop_requested_on_signals


def test_sigterm_sets_the_stop_event_and_chains_to_the_previous_handler():
    seen = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: seen.append(signum))
    try:
        with stop_requested_on_signals() as stop:
            assert not stop.is_set()
            os.kill(os.getpid(), signal.SIGTERM)
            assert stop.is_set()
        assert seen == [signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_the_previous_handler_is_restored_afterwards():
    def handler(signum, frame):
        pass

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        with stop_requested_on_signals():
            assert signal.getsignal(signal.SIGTERM) is not handler
        assert signal.getsignal(signal.SIGTERM) is handler
    finally:
        signal.signal(signal.SIGTERM, previous)


@pytest.mark.django_db
@pytest.mark.parametrize(("outcome", "queued_again"), [("released", True), ("complete", False)])
def test_the_task_queues_again_only_a_job_its_worker_released(
    outcome, queued_again, monkeypatch, django_capture_on_commit_callbacks
):
    job_id = "3f2a3b9e-0000-4000-8000-000000000001"
    enqueued = []
    monkeypatch.setattr(run, "import_job_run", lambda **kwargs: outcome)
    monkeypatch.setattr(tasks, "_enqueue", enqueued.append)

    with django_capture_on_commit_callbacks(execute=True):
        returned = tasks.import_job_task.call(job_id=job_id)

    assert returned == outcome
    assert enqueued == ([job_id] if queued_again else [])


@pytest.fixture
def database_queue(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def record_waits(monkeypatch, before_first_wait=None) -> list[bool]:
    """What each Wakeup.wait returned; `before_first_wait` runs as the first wait begins."""
    results: list[bool] = []
    original = tasks.Wakeup.wait

    def recording(self, timeout):
        if not results and before_first_wait is not None:
            before_first_wait()
        results.append(original(self, timeout))
        return results[-1]

    monkeypatch.setattr(tasks.Wakeup, "wait", recording)
    return results


@pytest.mark.django_db(transaction=True)
def test_a_waiting_worker_runs_an_import_queued_while_it_waits(database_queue, monkeypatch):
    job = queue(preview(StaffFactory(), records(5)))
    waits = record_waits(monkeypatch, before_first_wait=lambda: tasks._enqueue(job.pk))
    listening = connection.vendor == "postgresql"

    # On Postgres the fallback poll is a minute away: only the notification can end the wait.
    call_command("run_worker", max_tasks=1, interval=60 if listening else 0.01, verbosity=0)

    job.refresh_from_db()
    assert job.status == ImportJob.Status.COMPLETE
    assert waits == [listening]


@pytest.mark.django_db(transaction=True)
def test_a_wait_with_nothing_queued_ends_on_its_timeout(database_queue):
    wakeup = tasks.Wakeup()
    try:
        assert wakeup.wait(0.01) is False
    finally:
        wakeup.close()


@pytest.mark.django_db(transaction=True)
def test_a_listener_whose_connection_was_terminated_listens_again(database_queue):
    if connection.vendor != "postgresql":
        pytest.skip("LISTEN/NOTIFY is Postgres's")
    job = queue(preview(StaffFactory(), records(1)))
    wakeup = tasks.Wakeup()
    try:
        terminated = wakeup._listener.get_backend_pid()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [terminated])
        waits = 0
        # The backend goes away a moment after it is told to.
        while wakeup._listener.get_backend_pid() == terminated and waits < 200:
            assert wakeup.wait(0.05) is False
            waits += 1

        assert wakeup._listener.get_backend_pid() != terminated
        tasks._enqueue(job.pk)
        assert wakeup.wait(60) is True
    finally:
        wakeup.close()
