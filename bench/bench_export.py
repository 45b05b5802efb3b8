"""Export benchmark: 100,000 customers out as xlsx and as CSV, on a scratch Postgres database,
beside the previous way in the same run.

    .venv/bin/python bench/bench_export.py [--customers 100000] [--runs 3]

- API rows: the file downloaded through the real server (gunicorn with gunicorn_config.py),
  read in 64 KB pieces: the first byte's time and the last's, and the web process tree's RSS
  growth (peak during the download minus before it, sampled every 10 ms).
- The baseline is the export as it was: openpyxl's write-only workbook written whole to a
  temporary file, then sent, so its first byte leaves when the file is done. It runs in a fresh
  process that does nothing else, on the same rows, with its RSS sampled the same way.

Every figure is the median of --runs runs.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import textwrap
import time

import requests

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import (
    PYTHON,
    ROOT,
    RssSampler,
    login,
    prepared_database,
    print_table,
    running_stack,
)

TARGETS = {"xlsx": {"first_s": 0.5, "seconds": 4.0, "growth_mb": 30.0}}

SEED = textwrap.dedent(
    """
    import django
    django.setup()
    from bench.common import customer_rows
    from users.models import Role, User
    from users.customers.rules import normalize_region
    batch = []
    for n, (mark, first, last, email, phone, region, _c, _n) in enumerate(
        customer_rows({count}, phone_start=1_000_000)
    ):
        batch.append(
            User(
                phone="+233" + phone[1:], shipping_mark=mark, first_name=first, last_name=last,
                email=email if n % 4 else None, region=normalize_region(region),
                company_name=f"{{last}} Trading" if n % 3 == 0 else "",
                nickname=first[:3] if n % 5 == 0 else "", user_role=Role.CUSTOMER, password="!",
            )
        )
        if len(batch) == 5000:
            User.objects.bulk_create(batch)
            batch = []
    User.objects.bulk_create(batch)
    print(User.objects.filter(user_role=Role.CUSTOMER).count())
    """
)

# The previous export: openpyxl write-only to a temporary file, which was then sent.
PREVIOUS = textwrap.dedent(
    """
    import json, os, tempfile, time
    import django
    django.setup()
    from django.db import connection
    from bench.common import RssSampler
    from users.customers import export as exports
    from users.excel.writing import write_xlsx

    connection.ensure_connection()
    sampler = RssSampler([os.getpid()], period=0.01)
    base = sampler.current()
    with sampler, tempfile.TemporaryFile() as out:
        started = time.monotonic()
        count = write_xlsx(
            out, title="Customers", headers=exports.HEADERS,
            rows=exports.customer_export_rows(actor=None, filters={}), widths=exports.WIDTHS,
        )
        out.flush()
        size = out.tell()
        seconds = time.monotonic() - started
    print(json.dumps({"count": count, "first_s": seconds, "seconds": seconds, "bytes": size,
                      "growth_mb": max(sampler.peak, sampler.current()) - base}))
    """
)


def run_snippet(code: str, env: dict) -> str:
    return subprocess.run(
        [PYTHON, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def download(base: str, auth: dict, params: dict) -> dict:
    """One export download, read to the end in 64 KB pieces: status, bytes, first/last byte."""
    size = 0
    first = None
    started = time.monotonic()
    with requests.get(
        base + "/api/auth/customers/export/", headers=auth, params=params, stream=True, timeout=600
    ) as response:
        for piece in response.iter_content(64 * 1024):
            if first is None:
                first = time.monotonic() - started
            size += len(piece)
    return {
        "status": response.status_code,
        "bytes": size,
        "first_s": first if first is not None else 0.0,
        "seconds": time.monotonic() - started,
    }


def export_through_api(kind: str, base: str, auth: dict, web_pid: int) -> dict:
    rest = RssSampler([web_pid]).current()
    with RssSampler([web_pid], period=0.01) as sampler:
        result = download(base, auth, {"format": kind})
    assert result["status"] == 200, result
    return {**result, "growth_mb": sampler.peak - rest}


def medians(results: list[dict]) -> dict:
    return {key: statistics.median(r[key] for r in results) for key in results[0]}


def verdict(kind: str, result: dict) -> str:
    target = TARGETS.get(kind)
    if not target:
        return "-"
    labels = {"first_s": "first byte", "seconds": "done", "growth_mb": "RSS growth"}
    return "; ".join(
        f"{labels[key]} <= {limit:g}: {'yes' if result[key] <= limit else 'NO'}"
        for key, limit in target.items()
    )


def row(scenario: str, customers: int, result: dict, met: str) -> list:
    return [
        scenario,
        f"{customers:,}",
        f"{result['first_s']:.2f}",
        f"{result['seconds']:.2f}",
        f"{customers / result['seconds']:,.0f}",
        f"{result['bytes'] / 1024 / 1024:.1f}",
        f"{result['growth_mb']:.1f}",
        met,
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    load = os.getloadavg()[0]

    env, password = prepared_database()
    seeded = int(run_snippet(SEED.format(count=args.customers), env).splitlines()[-1])
    assert seeded == args.customers, seeded

    previous = medians(
        [json.loads(run_snippet(PREVIOUS, env).splitlines()[-1]) for _ in range(args.runs)]
    )
    table = [
        row(
            "baseline: the previous export (openpyxl write-only to a file, then sent)",
            args.customers,
            previous,
            "-",
        )
    ]
    with running_stack(env) as (base, processes):
        auth = login(base, password)
        web_pid = processes["web"].pid
        for kind in ("xlsx", "csv"):
            # The first request of a worker imports the views: not part of an export.
            download(base, auth, {"format": kind, "search": "no such customer"})
        for kind in ("xlsx", "csv"):
            result = medians(
                [export_through_api(kind, base, auth, web_pid) for _ in range(args.runs)]
            )
            table.append(
                row(
                    f"primepre: GET export/?format={kind} through gunicorn",
                    args.customers,
                    result,
                    verdict(kind, result),
                )
            )

    print_table(
        f"Export benchmark (Postgres, {os.cpu_count()} cores, load average {load:.2f} at the "
        f"start; medians of {args.runs})",
        [
            "scenario",
            "customers",
            "first byte s",
            "done s",
            "rows/s",
            "file MB",
            "peak RSS growth MB",
            "targets met",
        ],
        table,
    )


if __name__ == "__main__":
    main()
