"""Invites at scale: --rows imported customers texted their sign-in links, through the real
server and the real task worker on Postgres (a scratch database), with the `file` SMS backend
standing in for the provider (one file per text, written by the worker) and no pacing
(SMS_PER_SECOND=0: what the system itself costs; with pacing, sending takes rows / rate seconds
more, and the worker waits instead of working).

    .venv/bin/python bench/bench_invites.py [--rows 10000] [--runs 2]

Each run imports two files of --rows new customers, one confirmed without notify and one with
(the order alternating between runs), and reports:

- the import's own time (the job's started_at to finished_at: the worker's run of the import,
  which with notify queues one invite task after each committed batch);
- with notify, the time from the import's COMPLETE to the last of its texts written;
- `send_sign_in_links --import ID` for the customers of the import without notify: the time to
  queue (the command's own call, timed in its process) and the time from the start of that call
  to the last text;
- the task worker's peak RSS while it imports and while it texts (sampled every 50 ms).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import requests

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import (
    CONFIRM,
    PYTHON,
    ROOT,
    RssSampler,
    login,
    prepared_database,
    print_table,
    running_stack,
    status,
    upload,
    xlsx_file,
)

QUEUE_BY_COMMAND = """
import time, django
django.setup()
from django.core.management import call_command
started = time.perf_counter()
call_command("send_sign_in_links", "--import", "{job_id}")
print("QUEUED_SECONDS", time.perf_counter() - started)
"""


def texts(directory: Path) -> int:
    return sum(1 for name in os.listdir(directory) if name.endswith(".txt"))


def wait_for_texts(directory: Path, count: int, timeout: float = 3600) -> float:
    """Seconds until `count` texts are in `directory`."""
    started = time.monotonic()
    while texts(directory) < count:
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"only {texts(directory)} of {count} texts after {timeout} s")
        time.sleep(0.05)
    return time.monotonic() - started


def seconds_between(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def import_to_complete(base: str, auth: dict, path: Path, notify: bool) -> dict:
    preview = upload(base, auth, path)
    preview.raise_for_status()
    answer = requests.post(
        base + CONFIRM,
        headers=auth,
        json={"upload_id": preview.json()["upload_id"], "notify": notify},
        timeout=60,
    )
    answer.raise_for_status()
    task_id = answer.json()["task_id"]
    while not (state := status(base, auth, task_id))["is_finished"]:
        time.sleep(0.05)
    assert state["status"] == "COMPLETE", state
    return {**state, "task_id": task_id}


def one_run(base, auth, env, worker, sms_dir: Path, rows: int, run: int) -> dict:
    """The two imports (order alternating by run) and the command; the figures of this run."""
    figures = {}
    for notify in (False, True) if run % 2 == 0 else (True, False):
        path = xlsx_file(rows, phone_start=1_000_000 + (2 * run + notify) * rows)
        before = texts(sms_dir)
        with RssSampler([worker.pid]) as importing:
            state = import_to_complete(base, auth, path, notify)
        own = seconds_between(state["started_at"], state["finished_at"])
        figures["import_notify" if notify else "import_plain"] = own
        figures["import_rss"] = max(figures.get("import_rss", 0), importing.peak)
        if notify:
            with RssSampler([worker.pid]) as sending:
                figures["notify_send"] = wait_for_texts(sms_dir, before + rows)
            figures["notify_rss"] = sending.peak
        else:
            plain_job = state["task_id"]
    before = texts(sms_dir)
    with RssSampler([worker.pid]) as sending:
        done = subprocess.run(
            [PYTHON, "-c", QUEUE_BY_COMMAND.format(job_id=plain_job)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        figures["command_queue"] = float(done.stdout.split("QUEUED_SECONDS")[1])
        # From the start of the queueing (the worker texts as soon as the first task is queued)
        # to the last text; the command process's own start-up is left out.
        figures["command_send"] = figures["command_queue"] + wait_for_texts(sms_dir, before + rows)
    figures["command_rss"] = sending.peak
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=2)
    options = parser.parse_args()
    env, password = prepared_database()
    sms_dir = Path(tempfile.mkdtemp(prefix="primepre-bench-sms-"))
    env = {**env, "SMS_BACKEND": "file", "SMS_FILE_PATH": str(sms_dir), "SMS_PER_SECOND": "0"}
    env["SIGN_IN_LINK_BASE_URL"] = "https://primepre-api.onrender.com"
    load = os.getloadavg()[0]
    with running_stack(env, workers=1) as (base, processes):
        auth = login(base, password)
        [worker] = processes["workers"]
        idle_rss = RssSampler([worker.pid]).current()
        runs = [
            one_run(base, auth, env, worker, sms_dir, options.rows, run)
            for run in range(options.runs)
        ]
    sample = next(sms_dir.iterdir()).read_text(encoding="utf-8")
    body = sample.split("\n\n", 1)[1].rstrip("\n")

    def median(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    rows = options.rows
    print_table(
        f"Invites for {rows:,} imported customers (medians of {options.runs} runs; load "
        f"{load:.2f} at the start; worker idle RSS {idle_rss:.0f} MB)",
        ["what", "seconds", "texts/s", "worker peak RSS MB"],
        [
            ["import without notify (its own time)", f"{median('import_plain'):.2f}", "", ""],
            [
                "import with notify (its own time)",
                f"{median('import_notify'):.2f}",
                "",
                f"{median('import_rss'):.0f}",
            ],
            [
                "notify: from COMPLETE to the last text",
                f"{median('notify_send'):.2f}",
                f"{rows / median('notify_send'):,.0f}",
                f"{median('notify_rss'):.0f}",
            ],
            [
                "send_sign_in_links --import: time to queue",
                f"{median('command_queue'):.2f}",
                "",
                "",
            ],
            [
                "send_sign_in_links --import: to the last text",
                f"{median('command_send'):.2f}",
                f"{rows / median('command_send'):,.0f}",
                f"{median('command_rss'):.0f}",
            ],
        ],
    )
    print(f"\nAn invite as texted ({len(body)} characters): {body}")


if __name__ == "__main__":
    main()
