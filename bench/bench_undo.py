"""Undo benchmark: an import of --rows new customers through the real server and task worker
(Postgres, a scratch database), then its undo through the API to COMPLETE; and the undo of a
10,000-row update of those customers (every second row changing two fields), which restores
5,000 customers. Beside each: the create it undoes, from the same run.

    .venv/bin/python bench/bench_undo.py [--rows 100000]

Peak RSS is web (gunicorn master, worker and the reader process) plus task worker, sampled
every 50 ms.
"""

import argparse
import os
import sys
import time

import requests

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import (
    CONFIRM,
    RssSampler,
    confirm,
    login,
    prepared_database,
    print_table,
    running_stack,
    status,
    update_xlsx_file,
    upload,
    xlsx_file,
)


def import_to_complete(base: str, auth: dict, path, **options: str) -> tuple[str, float, dict]:
    started = time.monotonic()
    preview = upload(base, auth, path, **options)
    preview.raise_for_status()
    task_id = confirm(base, auth, preview.json()["upload_id"]).json()["task_id"]
    while not (state := status(base, auth, task_id))["is_finished"]:
        time.sleep(0.05)
    assert state["status"] == "COMPLETE", state
    return task_id, time.monotonic() - started, state


def undo_to_finish(base: str, auth: dict, task_id: str) -> tuple[float, dict]:
    url = f"{base}{CONFIRM}{task_id}/undo/"
    started = time.monotonic()
    answer = requests.post(url, headers=auth, timeout=60)
    assert answer.status_code == 202, answer.text
    while (undo := requests.get(url, headers=auth, timeout=60).json()["undo"])["status"] not in (
        "COMPLETE",
        "FAILED",
    ):
        time.sleep(0.05)
    assert undo["status"] == "COMPLETE", undo
    return time.monotonic() - started, undo


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    env, password = prepared_database()
    load = os.getloadavg()[0]
    rows = []
    with running_stack(env) as (base, processes):
        auth = login(base, password)
        pids = [processes["web"].pid] + [w.pid for w in processes["workers"]]

        path = xlsx_file(args.rows, phone_start=7_000_000)
        with RssSampler(pids) as sampler:
            task_id, create_s, state = import_to_complete(base, auth, path)
            assert state["created"] == args.rows, state
            undo_s, undo = undo_to_finish(base, auth, task_id)
        assert (undo["deleted"], undo["kept"]) == (args.rows, 0), undo
        rows.append(
            [
                f"import of {args.rows:,} new customers, then its undo (deletes them)",
                f"{create_s:.2f}",
                f"{undo_s:.2f}",
                f"{undo['deleted']:,} deleted",
                f"{args.rows / undo_s:,.0f}",
                f"{sampler.peak:.0f}",
            ]
        )

        size = 10_000
        xlsx = xlsx_file(size, phone_start=8_000_000)
        _created_id, create_s, _state = import_to_complete(base, auth, xlsx)
        with RssSampler(pids) as sampler:
            task_id, update_s, state = import_to_complete(
                base, auth, update_xlsx_file(size, phone_start=8_000_000), mode="update"
            )
            assert state["updated"] == size // 2, state
            undo_s, undo = undo_to_finish(base, auth, task_id)
        assert (undo["restored"], undo["kept"]) == (size // 2, 0), undo
        rows.append(
            [
                f"update of {size:,} customers ({size // 2:,} changed), then its undo (restores)",
                f"{update_s:.2f} (their create {create_s:.2f})",
                f"{undo_s:.2f}",
                f"{undo['restored']:,} restored",
                f"{size // 2 / undo_s:,.0f}",
                f"{sampler.peak:.0f}",
            ]
        )
    print_table(
        f"Undo benchmark ({os.cpu_count()} cores, load average {load:.2f} at the start; one run)",
        ["scenario", "import s", "undo s", "undo did", "customers/s", "peak RSS web+worker MB"],
        rows,
    )


if __name__ == "__main__":
    main()
