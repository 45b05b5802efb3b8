"""Imports under faults, on the real processes and a real Postgres: a task worker killed or stopped
mid-import, the database dropping every connection, several workers and admins at once, and the
web worker killed during an upload.

Every case ends the same way: the job completes, exactly its customers exist, its counts say so,
the progress it showed never went back, no job is left queued, running or half-stored, and the
server never answered with a 5xx."""

import os
import signal
import time

import psutil
import pytest
import requests

from bench.common import xlsx_file
from tests.slow.conftest import (
    JOB_DEADLINE_S,
    POLL_S,
    Api,
    JobWatch,
    LiveStack,
    Responses,
    command_line,
    in_background,
    stop,
    wait_for_process_exit,
)

pytestmark = pytest.mark.slow

ROWS = 30_000
UPLOAD_KILL_ROWS = 100_000


def thirty_thousand_rows(n: int = 0):
    """A 30,000-row workbook; each n has phone numbers of its own."""
    return xlsx_file(ROWS, phone_start=3_000_000 + n * 100_000)


def assert_completed_exactly(stack: LiveStack, watch: JobWatch, rows: int) -> None:
    body = watch.last
    assert body["status"] == "COMPLETE", body["message"]
    assert (body["created"], body["failed"], body["skipped"]) == (rows, 0, 0)
    assert body["total_customers"] == rows
    assert body["progress_percent"] == 100
    assert stack.customers_of(watch.task_id) == rows
    stored = stack.job_row(watch.task_id)
    assert stored["status"] == "COMPLETE"
    assert (stored["created_count"], stored["failed_count"]) == (rows, 0)
    assert stored["checkpoint"] == stored["total_rows"]
    assert watch.progress_went_back() == []


def assert_nothing_left_behind(stack: LiveStack) -> None:
    assert stack.jobs_not_finished() == []
    assert stack.jobs_with_missing_rows() == []
    assert stack.responses.server_errors() == []


def test_a_worker_killed_mid_import_leaves_a_job_that_a_new_worker_completes(live_stack):
    # given a 30,000-row import running on one worker
    api = live_stack.api()
    task_id, _ = api.import_file(thirty_thousand_rows())
    watch = JobWatch(api, task_id)
    worker = watch.start_worker_once_answered(live_stack)
    at_kill = watch.until_between(10, 80)

    # when the worker is killed outright and another one is started
    stop(worker, signal.SIGKILL)
    live_stack.start_worker()
    watch.until_finished()

    # then the job completed from where it stopped, every customer exactly once
    assert at_kill["status"] == "RUNNING"
    assert_completed_exactly(live_stack, watch, ROWS)
    assert live_stack.job_row(task_id)["attempts"] >= 2
    assert live_stack.customers() == ROWS + 1
    assert_nothing_left_behind(live_stack)


def test_a_worker_stopped_for_a_deploy_hands_its_job_back_and_the_next_worker_completes_it(
    live_stack,
):
    # given a 30,000-row import running on one worker
    api = live_stack.api()
    task_id, _ = api.import_file(thirty_thousand_rows())
    watch = JobWatch(api, task_id)
    worker = watch.start_worker_once_answered(live_stack)
    watch.until_between(10, 80)

    # when the worker is sent SIGTERM (a deploy), exits, and the new release's worker starts
    exit_code = stop(worker, signal.SIGTERM)
    handed_back = live_stack.job_row(task_id)
    live_stack.start_worker()
    watch.until_finished()

    # then the old worker stopped cleanly between batches, and the job completed exactly
    assert exit_code == 0
    assert handed_back["status"] == "QUEUED"
    assert 0 < handed_back["created_count"] < ROWS
    assert_completed_exactly(live_stack, watch, ROWS)
    assert live_stack.customers() == ROWS + 1
    assert_nothing_left_behind(live_stack)


def test_an_import_survives_postgres_dropping_every_connection_and_the_web_answers_again(
    live_stack,
):
    # given a 30,000-row import running, with the web holding a connection from its polls
    api = live_stack.api()
    task_id, _ = api.import_file(thirty_thousand_rows())
    watch = JobWatch(api, task_id)
    worker = watch.start_worker_once_answered(live_stack)
    watch.until_between(10, 80)

    # when Postgres terminates every connection to the database (the web's and the worker's)
    terminated = live_stack.terminate_connections()
    health = requests.get(live_stack.base + "/api/health/", timeout=30)
    watch.until_finished()

    # then both reconnect: the web answers, and the same worker completes the job exactly
    assert terminated >= 2
    assert health.status_code == 200
    assert worker.poll() is None
    assert_completed_exactly(live_stack, watch, ROWS)
    assert live_stack.customers() == ROWS + 1
    assert_nothing_left_behind(live_stack)


def test_two_workers_and_three_admins_importing_at_once_complete_every_job_exactly(live_stack):
    # given three admins, each with a file of their own, and two workers
    admins = [live_stack.staff] + [
        live_stack.create_user(f"020000010{n}", f"Admin-pass-{n}-8841", role="ADMIN")
        for n in (2, 3)
    ]
    clients = [live_stack.api(admin) for admin in admins]
    for _ in range(2):
        live_stack.start_worker()

    # when all three upload and confirm at the same time
    started = [
        in_background(lambda api=api, n=n: api.import_file(thirty_thousand_rows(n)))
        for n, api in enumerate(clients)
    ]
    for thread, _ in started:
        thread.join()
    assert [outcome.get("error") for _, outcome in started] == [None, None, None]
    watches = [
        JobWatch(api, outcome["value"][0])
        for api, (_, outcome) in zip(clients, started, strict=True)
    ]
    deadline = time.monotonic() + JOB_DEADLINE_S
    waiting = list(watches)
    while waiting and time.monotonic() < deadline:
        waiting = [watch for watch in waiting if not watch.poll()["is_finished"]]
        time.sleep(POLL_S)

    # then every job completed with exact counts
    for watch in watches:
        assert_completed_exactly(live_stack, watch, ROWS)
    assert live_stack.customers() == 3 * ROWS + 1
    assert_nothing_left_behind(live_stack)


def _reader_child(web_worker):
    try:
        children = web_worker.children()
    except psutil.NoSuchProcess:
        return None
    for child in children:
        if any("calamine_child" in part for part in command_line(child)):
            return child
    return None


def _storing_preview(stack: LiveStack) -> bool:
    return bool(
        stack.sql(
            "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL "
            "AND query LIKE 'COPY \"users_importstagedrow\"%%'"
        )
    )


@pytest.mark.parametrize("stage", ["reading the file", "storing the preview"])
def test_a_web_worker_killed_during_an_upload_leaves_no_half_made_job(live_stack, stage):
    # given a 100,000-row upload being processed by gunicorn's only worker
    live_stack.start_worker()
    web_worker = live_stack.web_workers()[0]
    big = xlsx_file(UPLOAD_KILL_ROWS, phone_start=2_000_000)
    doomed = Api(live_stack.base, live_stack.staff, Responses())
    upload, outcome = in_background(lambda: doomed.upload(big))
    reader = None
    while upload.is_alive():
        reader = _reader_child(web_worker) if stage == "reading the file" else None
        if reader is not None or (stage == "storing the preview" and _storing_preview(live_stack)):
            break
        time.sleep(0.01)
    assert upload.is_alive(), f"the upload finished before {stage}: {outcome}"

    # when that worker is killed
    os.kill(web_worker.pid, signal.SIGKILL)
    upload.join()
    live_stack.wait_for_new_web_worker(gone=web_worker.pid)
    api = live_stack.api()
    task_id, summary = api.import_file(xlsx_file(1_000, phone_start=6_000_000))
    watch = JobWatch(api, task_id)
    watch.until_finished()

    # then the client saw an error, no job or customer came of that upload, and the next works
    killed = outcome.get("value")
    assert isinstance(outcome.get("error"), requests.ConnectionError) or (
        killed is not None and killed.status_code >= 500
    )
    if reader is not None:
        assert wait_for_process_exit(reader), "the reader outlived the killed web worker"
    left = live_stack.sql("SELECT status FROM users_importjob WHERE file_name = %s", (big.name,))
    assert left in ([], [("PARSED",)])
    assert summary["to_create"] == 1_000
    assert_completed_exactly(live_stack, watch, 1_000)
    assert live_stack.customers() == 1_000 + 1
    assert_nothing_left_behind(live_stack)
