"""Undoing a 30,000-row import on the real processes and a real Postgres: the worker is killed
outright midway, a new one takes the undo up from its checkpoint, and every customer the import
created is gone exactly once, with the counts saying so."""

import itertools
import signal
import time

import pytest

from tests.slow.conftest import JOB_DEADLINE_S, POLL_S, JobWatch, stop
from tests.slow.test_faults import ROWS, thirty_thousand_rows

pytestmark = pytest.mark.slow


def undo_status(api, task_id: str) -> dict:
    answer = api.get(f"/api/auth/customers/excel/bulk-create/{task_id}/undo/")
    assert answer.status_code == 200, answer.text
    return answer.json()["undo"]


def undo_until(api, task_id: str, condition, *, what: str) -> tuple[dict, list[int]]:
    seen: list[int] = []
    deadline = time.monotonic() + JOB_DEADLINE_S
    while time.monotonic() < deadline:
        body = undo_status(api, task_id)
        seen.append(body["deleted"])
        if condition(body):
            return body, seen
        if body["is_finished"]:
            raise AssertionError(f"the undo finished before {what}: {body}")
        time.sleep(POLL_S)
    raise AssertionError(f"no {what} within {JOB_DEADLINE_S} s")


def test_an_undo_killed_midway_is_completed_by_the_next_worker(live_stack):
    # given a finished 30,000-row import
    api = live_stack.api()
    worker = live_stack.start_worker()
    task_id, _ = api.import_file(thirty_thousand_rows(7))
    JobWatch(api, task_id).until_finished()
    assert live_stack.customers_of(task_id) == ROWS

    # when its undo is asked for, and the worker is killed outright midway through it
    answer = api.post(f"/api/auth/customers/excel/bulk-create/{task_id}/undo/")
    assert answer.status_code == 202, answer.text
    at_kill, before = undo_until(
        api,
        task_id,
        lambda body: 0 < body["deleted"] < ROWS * 0.8,
        what="an undo midway",
    )
    stop(worker, signal.SIGKILL)
    left_at_kill = live_stack.customers_of(task_id)
    live_stack.start_worker()
    done, after = undo_until(api, task_id, lambda body: body["is_finished"], what="its end")

    # then the next worker went on from the checkpoint and deleted every customer exactly once
    assert at_kill["status"] == "RUNNING"
    assert 0 < left_at_kill < ROWS
    assert done["status"] == "COMPLETE", done["message"]
    assert (done["to_delete"], done["deleted"], done["kept"]) == (ROWS, ROWS, 0)
    assert live_stack.customers_of(task_id) == 0
    assert live_stack.customers() == 1  # the customer account the stack made
    assert (
        live_stack.scalar("SELECT attempts FROM users_importundo WHERE job_id = %s", (task_id,))
        >= 2
    )
    progress = before + after
    assert all(b >= a for a, b in itertools.pairwise(progress))
    status = api.status(task_id)
    assert status["undone_at"] is not None
    assert live_stack.responses.server_errors() == []
