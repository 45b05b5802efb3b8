"""The task wrapper: a stop signal is noticed between batches, the worker's own handler still
runs, and a job released by a stopping worker is queued again."""

import os
import signal

import pytest

from users.imports import run, tasks
from users.imports.tasks import stop_requested_on_signals


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
