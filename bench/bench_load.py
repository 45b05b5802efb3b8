"""Load while importing: a 100,000-row import runs on the real stack (gunicorn with
gunicorn_config.py, one task worker, Postgres) while 4 clients poll the job's status and list
customers, one request after another, for 30 seconds in all: while the import runs, then after it
completes (req/s is per phase, over that phase's own length).

    .venv/bin/python bench/bench_load.py [--rows 100000] [--clients 4] [--seconds 30]

Prints p50/p95/max latency, request counts and errors per endpoint, apart for the requests sent
while the import was running and after it completed. An error is any answer other than 200, or
no answer. The target: status polling p95 under 200 ms while the import runs.
"""

import argparse
import os
import statistics
import sys
import threading
import time

import requests

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import (
    confirm,
    login,
    prepared_database,
    print_table,
    running_stack,
    status,
    upload,
    xlsx_file,
)

DATABASE = "primepre_bench_load"
STATUS_TARGET_P95_MS = 200


class Recorder:
    """(endpoint, phase) -> latencies in ms, and error counts; phase is "import running" until
    some client sees the job finished."""

    def __init__(self) -> None:
        self.latencies: dict[tuple[str, str], list[float]] = {}
        self.errors: dict[tuple[str, str], int] = {}
        self.finished_at: float | None = None
        self.lock = threading.Lock()

    def phase(self, at: float) -> str:
        return "import running" if self.finished_at is None or at < self.finished_at else "after"

    def add(self, endpoint: str, started: float, ms: float, ok: bool) -> None:
        key = (endpoint, self.phase(started))
        with self.lock:
            self.latencies.setdefault(key, []).append(ms)
            if not ok:
                self.errors[key] = self.errors.get(key, 0) + 1


def client(base: str, auth: dict, task_id: str, until: float, recorder: Recorder) -> None:
    session = requests.Session()
    session.headers.update(auth)
    endpoints = {
        "GET status": f"{base}/api/auth/customers/excel/bulk-create/status/{task_id}/",
        "GET customers (list)": f"{base}/api/auth/customers/?page_size=25",
    }
    while time.monotonic() < until:
        for name, url in endpoints.items():
            started = time.monotonic()
            try:
                response = session.get(url, timeout=30)
                ok = response.status_code == 200
                body = response.json() if ok and name == "GET status" else None
            except (requests.RequestException, ValueError):
                ok, body = False, None
            recorder.add(name, started, (time.monotonic() - started) * 1000, ok)
            if body and body["is_finished"] and recorder.finished_at is None:
                recorder.finished_at = time.monotonic()


def percentile(values: list[float], p: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()

    env, password = prepared_database(DATABASE)
    path = xlsx_file(args.rows, phone_start=2_000_000)

    recorder = Recorder()
    with running_stack(env) as (base, _processes):
        auth = login(base, password)
        preview = upload(base, auth, path)
        preview.raise_for_status()
        confirmed = confirm(base, auth, preview.json()["upload_id"])
        confirmed.raise_for_status()
        task_id = confirmed.json()["task_id"]
        started = time.monotonic()
        until = started + args.seconds
        threads = [
            threading.Thread(target=client, args=(base, auth, task_id, until, recorder))
            for _ in range(args.clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        final = status(base, auth, task_id)

    import_s = (recorder.finished_at - started) if recorder.finished_at else None
    # Each phase's own length, so that req/s is per phase.
    running_s = import_s if import_s is not None else args.seconds
    lengths = {"import running": running_s, "after": max(args.seconds - running_s, 1e-9)}
    table = []
    for (endpoint, phase), values in sorted(recorder.latencies.items()):
        table.append(
            [
                endpoint,
                phase,
                len(values),
                recorder.errors.get((endpoint, phase), 0),
                f"{percentile(values, 50):.0f}",
                f"{percentile(values, 95):.0f}",
                f"{max(values):.0f}",
                f"{len(values) / lengths[phase]:.1f}",
            ]
        )
    print_table(
        f"Load during a {args.rows:,}-row import ({args.clients} clients for {args.seconds:.0f} s; "
        f"gunicorn_config.py defaults; Postgres; {os.cpu_count()} cores)",
        ["endpoint", "phase", "requests", "errors", "p50 ms", "p95 ms", "max ms", "req/s"],
        table,
    )
    running = recorder.latencies.get(("GET status", "import running"), [])
    p95 = percentile(running, 95) if running else float("nan")
    print(
        f"\nimport: {final['status']}, created {final['created']:,} of "
        f"{final['total_customers']:,}; "
        + (
            f"finished {import_s:.1f} s after confirm (while under load)"
            if import_s is not None
            else f"still running after {args.seconds:.0f} s"
        )
    )
    verdict = "met" if p95 < STATUS_TARGET_P95_MS else "NOT met"
    print(
        f"status p95 while importing: {p95:.0f} ms (target < {STATUS_TARGET_P95_MS} ms: {verdict})"
    )


if __name__ == "__main__":
    main()
