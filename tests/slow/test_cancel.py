"""Stopping imports on the real processes: a queued job cancelled before a worker takes it, and a
running one that the worker stops after its current batch, keeping and counting what it made."""

import time

import pytest

from bench.common import xlsx_file
from tests.slow.conftest import STALE_AFTER_S, JobWatch

pytestmark = pytest.mark.slow

ROWS = 30_000


def cancel(api, task_id: str):
    return api.post(f"/api/auth/customers/excel/bulk-create/{task_id}/cancel/")


def test_a_running_import_cancelled_stops_after_its_batch_and_keeps_what_it_created(live_stack):
    # given a 30,000-row import running on a real worker
    api = live_stack.api()
    task_id, _ = api.import_file(xlsx_file(ROWS, phone_start=5_000_000))
    watch = JobWatch(api, task_id)
    worker = watch.start_worker_once_answered(live_stack)
    watch.until_between(10, 80)

    # when its owner cancels it
    answer = cancel(api, task_id)

    # then it is CANCELLED at once, with the counts of the batches committed
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "CANCELLED"
    assert 0 < body["created"] < ROWS
    assert "Stopped by" in body["message"]
    # and the worker makes nothing more, nor does the watchdog queue it again
    time.sleep(STALE_AFTER_S * 2 + 1)
    stored = live_stack.job_row(task_id)
    assert stored["status"] == "CANCELLED"
    assert stored["created_count"] == body["created"]
    assert live_stack.customers_of(task_id) == body["created"]
    assert api.status(task_id)["created"] == body["created"]
    assert live_stack.jobs_not_finished() == []
    assert worker.poll() is None  # the worker is still up, waiting for work
    # and cancelling again answers the same
    again = cancel(api, task_id)
    assert again.status_code == 200
    assert (again.json()["status"], again.json()["created"]) == ("CANCELLED", body["created"])
    assert live_stack.responses.server_errors() == []


def test_a_queued_import_cancelled_is_never_run_and_the_next_import_is(live_stack):
    # given an import queued while no worker runs
    api = live_stack.api()
    task_id, _ = api.import_file(xlsx_file(2_000, phone_start=5_500_000))
    assert api.status(task_id)["status"] == "QUEUED"

    # when it is cancelled, and a worker starts
    answer = cancel(api, task_id)
    live_stack.start_worker()
    next_id, _ = api.import_file(xlsx_file(500, phone_start=5_600_000))
    JobWatch(api, next_id).until_finished()

    # then the cancelled job created nothing and stays cancelled; the next one completed
    assert answer.status_code == 200, answer.text
    assert (answer.json()["status"], answer.json()["created"]) == ("CANCELLED", 0)
    time.sleep(STALE_AFTER_S + 1)
    assert live_stack.job_row(task_id)["status"] == "CANCELLED"
    assert live_stack.customers_of(task_id) == 0
    assert live_stack.job_row(next_id)["status"] == "COMPLETE"
    assert live_stack.customers_of(next_id) == 500
    assert live_stack.responses.server_errors() == []
