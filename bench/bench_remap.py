"""Remap benchmark: what re-mapping a stored upload costs beside uploading the file again, through
the real server (gunicorn with gunicorn_config.py) on Postgres (a scratch database,
BENCH_DATABASE_NAME), signed in as the local admin.

    .venv/bin/python bench/bench_remap.py [--sizes 10000 100000] [--runs 3]

For each size: the upload (read, map, validate, classify, store) and then a remap of the same
upload that moves one field to another column (nickname <- the Email column, email left out), so
every row is validated and classified again. Times are the median of --runs runs; peak RSS is the
web process tree (gunicorn master + worker + reader child), sampled every 50 ms, during the
request.
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import psutil
import requests

from bench.common import (
    RssSampler,
    login,
    prepared_database,
    print_table,
    running_stack,
    upload,
    xlsx_file,
)

REMAP = "/api/auth/customers/excel/upload/{}/remap/"
MAPPING = {"nickname": "Email", "email": None}


def measure(base: str, auth: dict, web: int, size: int, phone_start: int) -> dict:
    path = xlsx_file(size, phone_start=phone_start)
    with RssSampler([web]) as sampler:
        started = time.monotonic()
        preview = upload(base, auth, path)
        uploaded = time.monotonic()
        upload_peak = sampler.peak
    preview.raise_for_status()
    upload_id = preview.json()["upload_id"]
    with RssSampler([web]) as sampler:
        remap_started = time.monotonic()
        remapped = requests.post(
            base + REMAP.format(upload_id),
            headers=auth,
            json={"column_mapping": MAPPING},
            timeout=600,
        )
        done = time.monotonic()
        remap_peak = sampler.peak
    remapped.raise_for_status()
    body = remapped.json()
    assert body["summary"]["total_rows"] == size, body["summary"]
    assert body["column_mapping"]["nickname"] == "Email", body["column_mapping"]
    return {
        "upload_s": uploaded - started,
        "remap_s": done - remap_started,
        "upload_mb": upload_peak,
        "remap_mb": remap_peak,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    env, password = prepared_database()
    rows = []
    with running_stack(env, workers=0) as (base, processes):
        auth = login(base, password)
        web = processes["web"].pid
        for size in args.sizes:
            results = [
                measure(base, auth, web, size, 7_000_000 + run * 200_000)
                for run in range(args.runs)
            ]

            def median(key: str, results=results) -> float:
                return statistics.median(r[key] for r in results)

            rows.append(
                [
                    f"{size:,}",
                    f"{median('upload_s'):.2f}",
                    f"{median('remap_s'):.2f}",
                    f"{median('remap_s') / median('upload_s'):.2f}",
                    f"{median('upload_mb'):.0f}",
                    f"{median('remap_mb'):.0f}",
                ]
            )
    print_table(
        f"Remap against upload, Postgres, median of {args.runs} (load average "
        f"{os.getloadavg()[0]:.1f}, {psutil.cpu_count()} CPUs)",
        ["rows", "upload s", "remap s", "remap / upload", "upload peak MB", "remap peak MB"],
        rows,
    )


if __name__ == "__main__":
    main()
