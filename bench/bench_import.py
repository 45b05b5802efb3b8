"""Import benchmark: upload -> preview -> confirm -> COMPLETE through the real server (gunicorn with
gunicorn_config.py) and the real task worker, on a scratch Postgres database, beside two
baselines: one ORM create per transaction (how the replaced system wrote), and calamine + COPY
(the floor: reading the file and bulk-loading it with no validation at all).

    .venv/bin/python bench/bench_import.py [--sizes 10000 100000] [--naive-rows 10000]

Prints a table. Peak RSS is web (gunicorn master + worker + reader child) plus task worker,
sampled every 50 ms.
"""

import argparse
import os
import subprocess
import sys
import textwrap
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import (
    PYTHON,
    ROOT,
    RssSampler,
    confirm,
    login,
    prepared_database,
    print_table,
    running_stack,
    status,
    upload,
    xlsx_file,
)

NAIVE = textwrap.dedent(
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
                email=email, region="ASHANTI", password=make_password(None),
            )
    print(time.monotonic() - started)
    """
)

FLOOR = textwrap.dedent(
    """
    import io, time, psycopg2
    from python_calamine import CalamineWorkbook
    started = time.monotonic()
    rows = CalamineWorkbook.from_path({path!r}).get_sheet_by_index(0).to_python()
    buffer = io.StringIO()
    for row in rows[1:]:
        buffer.write("\\t".join(str(c) for c in row[:6]) + "\\n")
    buffer.seek(0)
    connection = psycopg2.connect({url!r})
    with connection, connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE floor (mark text, first text, last text, email text, "
            "phone text, region text)"
        )
        cursor.copy_expert("COPY floor FROM STDIN", buffer)
    print(time.monotonic() - started)
    """
)


def run_snippet(code: str, env: dict) -> float:
    output = subprocess.run(
        [PYTHON, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout
    return float(output.strip().splitlines()[-1])


def import_once(base: str, auth: dict, path, sampler: RssSampler) -> dict:
    started = time.monotonic()
    preview = upload(base, auth, path)
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
        "to_create": preview.json()["summary"]["to_create"],
        "status": state["status"],
        "peak_mb": sampler.peak,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--naive-rows", type=int, default=10_000)
    args = parser.parse_args()

    env, password = prepared_database()
    url = env["DATABASE_URL"]
    files = {
        size: xlsx_file(size, phone_start=1_000_000 + i * 1_000_000)
        for i, size in enumerate(args.sizes)
    }

    table = []
    if args.naive_rows:
        seconds = run_snippet(NAIVE.format(count=args.naive_rows, start=8_000_000), env)
        table.append(
            [
                "baseline: ORM create per transaction",
                f"{args.naive_rows:,}",
                "-",
                f"{seconds:.2f}",
                f"{args.naive_rows / seconds:,.0f}",
                "-",
            ]
        )
    for size, path in files.items():
        seconds = run_snippet(FLOOR.format(path=str(path), url=url), env)
        table.append(
            [
                "baseline: calamine + COPY (no validation)",
                f"{size:,}",
                "-",
                f"{seconds:.2f}",
                f"{size / seconds:,.0f}",
                "-",
            ]
        )

    with running_stack(env) as (base, processes):
        auth = login(base, password)
        pids = [processes["web"].pid] + [w.pid for w in processes["workers"]]
        rest_mb = RssSampler(pids).current()
        for size, path in files.items():
            with RssSampler(pids) as sampler:
                result = import_once(base, auth, path, sampler)
            assert result["status"] == "COMPLETE", result
            assert result["created"] == result["to_create"] == size, result
            table.append(
                [
                    "primepre: upload -> COMPLETE",
                    f"{size:,}",
                    f"{result['preview_s']:.2f}",
                    f"{result['total_s']:.2f}",
                    f"{size / result['total_s']:,.0f}",
                    f"{result['peak_mb']:.0f}",
                ]
            )

    print_table(
        f"Import benchmark (Postgres, {os.cpu_count()} cores; web + worker RSS at rest "
        f"{rest_mb:.0f} MB)",
        ["scenario", "rows", "preview s", "total s", "rows/s", "peak RSS web+worker MB"],
        table,
    )


if __name__ == "__main__":
    main()
