"""Import benchmark: upload -> preview -> confirm -> COMPLETE through the real server (gunicorn with
gunicorn_config.py) and the real task worker, on Postgres (a scratch database) and on SQLite,
beside the baselines in the same run:

- the floor: python-calamine reading the file and COPY of its rows into a table with the same
  columns, constraints and unique indexes as users_user (no validation, no duplicate check);
- the original system's way: one ORM create per row in its own transaction, each hashing the
  known password it gave imported customers with Django's default hasher. Measured on
  --original-rows rows (200) and extrapolated to 10,000, which the table says.

    .venv/bin/python bench/bench_import.py [--sizes 10000 100000] [--runs 3] [--no-sqlite]

Every figure is the median of --runs runs (the original system's: one run). Peak RSS is web
(gunicorn master + worker + reader child) plus task worker, sampled every 50 ms. "preview on
the wire" is the upload's answer as sent (gzip, which the client accepts) and as JSON.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import (
    PYTHON,
    ROOT,
    RssSampler,
    confirm,
    env_for,
    login,
    manage,
    prepared_database,
    print_table,
    running_stack,
    status,
    update_xlsx_file,
    upload,
    xlsx_file,
)

ORIGINAL = textwrap.dedent(
    """
    import time, django
    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from users.models import User
    from bench.common import customer_rows
    rows = customer_rows({count}, phone_start={start})
    started = time.monotonic()
    for mark, first, last, email, phone, region, company, nick in rows:
        with transaction.atomic():
            User.objects.create(
                phone="+233" + phone[1:], shipping_mark=mark, first_name=first, last_name=last,
                email=email, region="ASHANTI", password=make_password("PrimeMade"),
            )
    print(time.monotonic() - started)
    """
)

# The same columns, constraints and unique indexes as users_user (its plain indexes left out, as
# the floor has them), rebuilt for every run.
FLOOR = textwrap.dedent(
    """
    import io, time, psycopg2
    from python_calamine import CalamineWorkbook
    connection = psycopg2.connect({url!r})
    with connection, connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS floor")
        cursor.execute(
            "CREATE TABLE floor (LIKE users_user INCLUDING DEFAULTS INCLUDING IDENTITY "
            "INCLUDING CONSTRAINTS)"
        )
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'users_user' "
            "AND indexdef LIKE 'CREATE UNIQUE INDEX%%'"
        )
        for n, (definition,) in enumerate(cursor.fetchall()):
            name, rest = definition.split(" ON ", 1)
            cursor.execute(
                f"CREATE UNIQUE INDEX floor_unique_{{n}} ON "
                + rest.replace("public.users_user", "floor", 1)
            )
    started = time.monotonic()
    rows = CalamineWorkbook.from_path({path!r}).get_sheet_by_index(0).to_python()
    buffer = io.StringIO()
    for n, row in enumerate(rows[1:]):
        mark, first, last, email, phone, region = (str(c) for c in row[:6])
        buffer.write(
            f"!\\tf\\t+233{{phone[1:]}}\\t{{email}}\\t{{mark}}\\t{{first}}\\t{{last}}\\t\\t\\t"
            f"{{region}}\\tCUSTOMER\\tINDIVIDUAL\\t[]\\tf\\tt\\tf\\t2026-01-01T00:00:00+00:00\\t{{n}}\\n"
        )
    buffer.seek(0)
    with connection, connection.cursor() as cursor:
        cursor.copy_expert(
            "COPY floor (password, is_superuser, phone, email, shipping_mark, first_name, "
            "last_name, nickname, company_name, region, user_role, user_type, "
            "accessible_warehouses, is_verified, is_active, is_staff, date_joined, source_row) "
            "FROM STDIN",
            buffer,
        )
    print(time.monotonic() - started)
    with connection, connection.cursor() as cursor:
        cursor.execute("DROP TABLE floor")
    """
)

TARGETS = {
    ("postgres", 10_000): {"total_s": 0.6, "slowest": 1.15, "wire_kb": 60},
    ("postgres", 100_000): {"total_s": 6.0, "slowest": 1.15, "peak_mb": 250},
    ("sqlite", 10_000): {"total_s": 1.3},
}


# A 10,000-row update (half its rows changing two fields) within this much of a 10,000 create.
UPDATE_TARGET_RATIO = 1.3


def run_snippet(code: str, env: dict) -> float:
    output = subprocess.run(
        [PYTHON, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout
    return float(output.strip().splitlines()[-1])


def import_once(base: str, auth: dict, path, sampler: RssSampler, **options: str) -> dict:
    started = time.monotonic()
    preview = upload(base, auth, path, **options)
    preview.raise_for_status()
    previewed = time.monotonic()
    confirmed = confirm(base, auth, preview.json()["upload_id"])
    confirmed.raise_for_status()
    while True:
        state = status(base, auth, confirmed.json()["task_id"])
        if state["is_complete"] or state["is_failed"]:
            break
        time.sleep(0.05)
    done = time.monotonic()
    return {
        "preview_s": previewed - started,
        "total_s": done - started,
        "created": state["created"],
        "updated": state.get("updated", 0),
        "to_create": preview.json()["summary"]["to_create"],
        "to_update": preview.json()["summary"].get("to_update", 0),
        "possible_duplicates": preview.json()["summary"].get("possible_duplicates", 0),
        "status": state["status"],
        "peak_mb": sampler.peak,
        "wire_kb": int(preview.headers.get("Content-Length", len(preview.content))) / 1024,
        "json_kb": len(preview.content) / 1024,
        "encoding": preview.headers.get("Content-Encoding", "none"),
    }


def imports(
    env: dict, password: str, size: int, runs: int, first_phone: int, *, updates: bool = False
) -> tuple[list[dict], list[dict]]:
    """`runs` imports of `size` new customers each through one running stack; with `updates`,
    each followed by an update of those customers (mode update, by phone) where every second
    row changes two fields. (create runs, update runs)."""
    results, updated = [], []
    with running_stack(env) as (base, processes):
        auth = login(base, password)
        pids = [processes["web"].pid] + [w.pid for w in processes["workers"]]
        for run in range(runs):
            phone_start = first_phone + run * size
            path = xlsx_file(size, phone_start=phone_start)
            with RssSampler(pids) as sampler:
                result = import_once(base, auth, path, sampler)
            assert result["status"] == "COMPLETE", result
            assert result["created"] == result["to_create"] == size, result
            results.append(result)
            if updates:
                path = update_xlsx_file(size, phone_start=phone_start)
                with RssSampler(pids) as sampler:
                    result = import_once(base, auth, path, sampler, mode="update")
                assert result["status"] == "COMPLETE", result
                assert result["updated"] == result["to_update"] == size // 2, result
                updated.append(result)
    return results, updated


def median(results: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in results)


def verdict(target: dict, measured: dict) -> str:
    """Each target of the row with its figure: "<= 1.3 s: yes (0.98)"."""
    names = {
        "total_s": ("total", "s"),
        "ratio": ("x floor", ""),
        "preview_s": ("preview", "s"),
        "wire_kb": ("wire", "KB"),
        "peak_mb": ("RSS", "MB"),
        "slowest": ("slowest / median", ""),
    }
    parts = []
    for key, limit in target.items():
        label, unit = names[key]
        met = "yes" if measured[key] <= limit else "NO"
        parts.append(f"{label} <= {limit:g}{unit}: {met}")
    return "; ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--original-rows", type=int, default=200)
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    load = os.getloadavg()[0]

    env, password = prepared_database()
    table = []
    if args.original_rows:
        seconds = run_snippet(ORIGINAL.format(count=args.original_rows, start=8_000_000), env)
        per_row = seconds / args.original_rows
        table.append(
            [
                f"original system: ORM create + password hash per row ({args.original_rows} "
                f"rows measured, {per_row * 1000:.0f} ms a row, extrapolated)",
                "10,000",
                "-",
                f"{per_row * 10_000:,.0f}",
                "-",
                f"{1 / per_row:,.1f}",
                "-",
                "-",
                "-",
                "-",
            ]
        )
    floors = {}
    for size in args.sizes:
        path = xlsx_file(size, phone_start=1_000_000)
        times = [
            run_snippet(FLOOR.format(path=str(path), url=env["DATABASE_URL"]), env)
            for _ in range(args.runs)
        ]
        floors[size] = statistics.median(times)
        table.append(
            [
                "floor: calamine + COPY into users_user's columns and unique indexes",
                f"{size:,}",
                "-",
                f"{floors[size]:.2f}",
                "1.0",
                f"{size / floors[size]:,.0f}",
                "-",
                "-",
                "-",
                "-",
            ]
        )

    results = {}
    update_results = {}
    for i, size in enumerate(args.sizes):
        size_env, size_password = (env, password) if i == 0 else prepared_database()
        results[("postgres", size)], updates = imports(
            size_env,
            size_password,
            size,
            args.runs,
            first_phone=2_000_000 + i * 1_000_000,
            updates=size == 10_000,
        )
        if updates:
            update_results[("postgres", size)] = updates
    if not args.no_sqlite and 10_000 in args.sizes:
        with tempfile.TemporaryDirectory(prefix="primepre-bench-") as folder:
            sqlite_env = {key: value for key, value in env_for("").items() if key != "DATABASE_URL"}
            sqlite_env["SQLITE_PATH"] = os.path.join(folder, "bench.sqlite3")
            manage(sqlite_env, "migrate", "--noinput")
            manage(sqlite_env, "createcachetable")
            sqlite_password = (
                manage(sqlite_env, "ensure_local_admin").split("Password: ")[1].split()[0]
            )
            results[("sqlite", 10_000)], _ = imports(
                sqlite_env, sqlite_password, 10_000, args.runs, first_phone=5_000_000
            )

    for (database, size), runs in results.items():
        measured = {key: median(runs, key) for key in ("preview_s", "total_s", "peak_mb")}
        measured["wire_kb"] = median(runs, "wire_kb")
        measured["ratio"] = measured["total_s"] / floors[size]
        measured["slowest"] = max(r["total_s"] for r in runs) / measured["total_s"]
        table.append(
            [
                f"primepre on {database}: upload -> COMPLETE",
                f"{size:,}",
                f"{measured['preview_s']:.2f}",
                f"{measured['total_s']:.2f}",
                f"{measured['ratio']:.1f}" if database == "postgres" else "-",
                f"{size / measured['total_s']:,.0f}",
                f"{measured['peak_mb']:.0f}",
                f"{measured['wire_kb']:.0f} ({runs[0]['encoding']}) / "
                f"{median(runs, 'json_kb'):.0f}",
                f"{measured['slowest']:.2f}",
                verdict(TARGETS.get((database, size), {}), measured),
            ]
        )

    for (database, size), runs in update_results.items():
        measured = {key: median(runs, key) for key in ("preview_s", "total_s", "peak_mb")}
        create_s = median(results[(database, size)], "total_s")
        ratio = measured["total_s"] / create_s
        table.append(
            [
                f"primepre on {database}: update upload -> COMPLETE (mode update, by phone; "
                f"{size // 2:,} rows change two fields, {size - size // 2:,} unchanged)",
                f"{size:,}",
                f"{measured['preview_s']:.2f}",
                f"{measured['total_s']:.2f}",
                f"{measured['total_s'] / floors[size]:.1f}",
                f"{size / measured['total_s']:,.0f}",
                f"{measured['peak_mb']:.0f}",
                "-",
                f"{max(r['total_s'] for r in runs) / measured['total_s']:.2f}",
                f"{ratio:.2f}x the create of {size:,}: "
                + ("yes" if ratio <= UPDATE_TARGET_RATIO else "NO")
                + f" (target <= {UPDATE_TARGET_RATIO}x)",
            ]
        )

    print_table(
        f"Import benchmark ({os.cpu_count()} cores, load average {load:.2f} at the start; "
        f"medians of {args.runs})",
        [
            "scenario",
            "rows",
            "preview s",
            "total s",
            "total / floor",
            "rows/s",
            "peak RSS web+worker MB",
            "preview on the wire KB (encoding) / JSON KB",
            "slowest / median",
            "targets met",
        ],
        table,
    )
    for (database, size), runs in results.items():
        print(
            f"\nEach run on {database}, {size:,} rows, in order (each into the customers of the "
            "runs before it), preview s / total s, possible duplicates: "
            + ", ".join(
                f"{r['preview_s']:.2f} / {r['total_s']:.2f}, {r['possible_duplicates']:,}"
                for r in runs
            )
        )
    for (database, size), runs in update_results.items():
        pairs = zip(results[(database, size)], runs, strict=True)
        print(
            f"\nEach run on {database}, {size:,} rows, create s / update s (update / create): "
            + ", ".join(
                f"{c['total_s']:.2f} / {u['total_s']:.2f} ({u['total_s'] / c['total_s']:.2f}x)"
                for c, u in pairs
            )
        )


if __name__ == "__main__":
    main()
