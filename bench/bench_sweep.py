"""Table-size sweep: 10,000 new customers imported into a customers table that already holds
0 / 30,000 / 100,000 / 300,000 / 1,000,000, through the real server (gunicorn with
gunicorn_config.py) and the real task worker, on Postgres (a scratch database,
BENCH_DATABASE_NAME, made again for each size).

    .venv/bin/python bench/bench_sweep.py [--stored 0 30000 ...] [--rows 10000] [--runs 5]

The stored customers are written by the database itself (INSERT ... SELECT over
generate_series, faster than COPY as nothing crosses the wire), then ANALYZEd, as a table
that grew over time would be. Each import is timed from the upload to COMPLETE; every figure is
the median of --runs imports, and the ratio is to the empty table's median (target: each within
1.3x).
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import psycopg2

from bench.bench_import import import_once
from bench.common import RssSampler, login, prepared_database, print_table, running_stack, xlsx_file

SEED = """
INSERT INTO users_user (password, is_superuser, phone, email, shipping_mark, first_name,
    last_name, nickname, company_name, region, user_role, user_type, accessible_warehouses,
    is_verified, is_active, is_staff, date_joined, email_unproven)
SELECT '!', false, '+23327' || lpad(n::text, 7, '0'), 'seed' || n || '@example.com',
    'SEED ' || n, 'Ama', 'Mensah', '', '', 'ASHANTI', 'CUSTOMER', 'INDIVIDUAL', '[]', false,
    true, false, now() - n * interval '1 minute', false
FROM generate_series(1, %s) AS n
"""

TARGET_RATIO = 1.3


def seeded(stored: int) -> tuple[dict, str, float]:
    """A fresh database holding `stored` customers: (environment, admin password, seconds the
    seeding took)."""
    env, password = prepared_database()
    started = time.monotonic()
    connection = psycopg2.connect(env["DATABASE_URL"])
    connection.autocommit = True
    with connection.cursor() as cursor:
        if stored:
            cursor.execute(SEED, [stored])
        cursor.execute("ANALYZE users_user")
    connection.close()
    return env, password, time.monotonic() - started


def imports_into(env: dict, password: str, rows: int, runs: int) -> list[dict]:
    results = []
    with running_stack(env) as (base, processes):
        auth = login(base, password)
        pids = [processes["web"].pid] + [w.pid for w in processes["workers"]]
        for run in range(runs):
            path = xlsx_file(rows, phone_start=2_000_000 + run * rows)
            with RssSampler(pids) as sampler:
                result = import_once(base, auth, path, sampler)
            assert result["status"] == "COMPLETE", result
            assert result["created"] == rows, result
            results.append(result)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--stored", type=int, nargs="+", default=[0, 30_000, 100_000, 300_000, 1_000_000]
    )
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    table = []
    empty = None
    for stored in args.stored:
        env, password, seed_s = seeded(stored)
        runs = imports_into(env, password, args.rows, args.runs)
        preview = statistics.median(r["preview_s"] for r in runs)
        total = statistics.median(r["total_s"] for r in runs)
        slowest = max(r["total_s"] for r in runs)
        empty = empty or total
        ratio = total / empty
        table.append(
            [
                f"{stored:,}",
                f"{seed_s:.1f}",
                f"{preview:.2f}",
                f"{total:.2f}",
                f"{slowest / total:.2f}",
                f"{ratio:.2f}" + ("" if ratio <= TARGET_RATIO else " (over 1.3)"),
            ]
        )
    print_table(
        f"{args.rows:,} new customers into a table of N, Postgres ({os.cpu_count()} cores, "
        f"load average {load:.2f} at the start, {os.getloadavg()[0]:.2f} at the end; "
        f"medians of {args.runs})",
        ["customers stored", "seed s", "preview s", "total s", "slowest / median", "x empty"],
        table,
    )


if __name__ == "__main__":
    main()
