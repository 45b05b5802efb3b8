"""Export benchmark: 100,000 customers out as xlsx and as CSV, on a scratch Postgres database.

    .venv/bin/python bench/bench_export.py [--customers 100000] [--no-api]

Each in-process row runs in a fresh process that does nothing but the export (the service the
API, the command and the admin call), with its RSS sampled every 10 ms from a thread; growth is
the peak minus the RSS just before the export started. The API rows download the file through
the real server (gunicorn with gunicorn_config.py), growth being the web process tree's.

When xlsxwriter is importable, its constant_memory mode is measured on the same rows for
comparison (it is not a dependency: see the README for why).
"""

import argparse
import json
import os
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

TARGETS = {"xlsx": 10.0, "csv": 3.0}
TARGET_RSS_MB = 30.0

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

EXPORT = textwrap.dedent(
    """
    import json, tempfile, threading, time
    import django, psutil
    django.setup()
    from django.db import connection
    from users.customers import export as exports
    from users.excel.writing import xlsx_cell  # noqa: F401 (imported before the baseline)

    def xlsxwriter_export(out):
        import xlsxwriter
        book = xlsxwriter.Workbook(out, {{"constant_memory": True, "in_memory": False}})
        sheet = book.add_worksheet("Customers")
        bold = book.add_format({{"bold": True, "bg_color": "#DDEBF7"}})
        sheet.freeze_panes(1, 0)
        for column, header in enumerate(exports.HEADERS):
            sheet.write_string(0, column, header, bold)
        count = 0
        for count, row in enumerate(exports.customer_export_rows(filters={{}}), 1):
            for column, value in enumerate(row):
                if value:
                    sheet.write_string(count, column, value)
        book.close()
        return count

    kind = {kind!r}
    if kind == "xlsxwriter":
        import xlsxwriter  # noqa: F401
    connection.ensure_connection()
    process = psutil.Process()
    base = process.memory_info().rss
    peak = base
    done = threading.Event()

    def sample():
        global peak
        while not done.is_set():
            peak = max(peak, process.memory_info().rss)
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.monotonic()
    with tempfile.TemporaryFile() as out:
        if kind == "xlsx":
            count = exports.customers_export_xlsx(filters={{}}, target=out)
        elif kind == "csv":
            seen = [0]
            for piece in exports.customers_export_csv(filters={{}}, on_row=seen.append):
                out.write(piece.encode())
            count = seen[-1]
        else:
            count = xlsxwriter_export(out)
        out.flush()
        size = out.tell()
    seconds = time.monotonic() - started
    done.set()
    sampler.join()
    peak = max(peak, process.memory_info().rss)
    print(json.dumps({{"count": count, "seconds": seconds, "bytes": size,
                      "growth_mb": (peak - base) / 1024 / 1024}}))
    """
)


def run_snippet(code: str, env: dict) -> str:
    return subprocess.run(
        [PYTHON, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def export_in_process(kind: str, env: dict) -> dict:
    return json.loads(run_snippet(EXPORT.format(kind=kind), env).splitlines()[-1])


def xlsxwriter_available(env: dict) -> bool:
    probe = subprocess.run(
        [PYTHON, "-c", "import xlsxwriter"], cwd=ROOT, env=env, capture_output=True, check=False
    )
    return probe.returncode == 0


def download(base: str, auth: dict, params: dict) -> tuple[int, int]:
    """(status, bytes) of one export download, read to the end in 64 KB pieces."""
    size = 0
    with requests.get(
        base + "/api/auth/customers/export/", headers=auth, params=params, stream=True, timeout=600
    ) as response:
        for piece in response.iter_content(64 * 1024):
            size += len(piece)
    return response.status_code, size


def export_through_api(kind: str, base: str, auth: dict, web_pid: int) -> dict:
    rest = RssSampler([web_pid]).current()
    with RssSampler([web_pid], period=0.01) as sampler:
        started = time.monotonic()
        code, size = download(base, auth, {"format": kind})
        seconds = time.monotonic() - started
    assert code == 200, code
    return {"seconds": seconds, "bytes": size, "growth_mb": sampler.peak - rest}


def row(scenario: str, kind: str, customers: int, result: dict) -> list:
    met = result["seconds"] < TARGETS[kind] and result["growth_mb"] < TARGET_RSS_MB
    return [
        scenario,
        f"{customers:,}",
        f"{result['seconds']:.2f}",
        f"{customers / result['seconds']:,.0f}",
        f"{result['bytes'] / 1024 / 1024:.1f}",
        f"{result['growth_mb']:.1f}",
        "yes" if met else "NO",
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--no-api", action="store_true", help="Skip the rows through gunicorn.")
    args = parser.parse_args()

    env, password = prepared_database()
    seeded = int(run_snippet(SEED.format(count=args.customers), env).splitlines()[-1])
    assert seeded == args.customers, seeded

    table = []
    scenarios = [
        ("service: xlsx, openpyxl write-only", "xlsx", "xlsx"),
        ("service: csv", "csv", "csv"),
    ]
    if xlsxwriter_available(env):
        scenarios.append(("compared: xlsx, xlsxwriter constant_memory", "xlsxwriter", "xlsx"))
    for scenario, kind, target_kind in scenarios:
        result = export_in_process(kind, env)
        assert result["count"] == args.customers, result
        table.append(row(scenario, target_kind, args.customers, result))

    if not args.no_api:
        with running_stack(env) as (base, processes):
            auth = login(base, password)
            web_pid = processes["web"].pid
            for kind in ("xlsx", "csv"):
                # The first request of a worker imports the views: not part of an export.
                download(base, auth, {"format": kind, "search": "no such customer"})
            for kind in ("xlsx", "csv"):
                result = export_through_api(kind, base, auth, web_pid)
                table.append(row(f"API: GET export/?format={kind}", kind, args.customers, result))

    print_table(
        f"Export benchmark (Postgres, {os.cpu_count()} cores; targets: xlsx < "
        f"{TARGETS['xlsx']:.0f} s, csv < {TARGETS['csv']:.0f} s, RSS growth < "
        f"{TARGET_RSS_MB:.0f} MB)",
        ["scenario", "customers", "seconds", "rows/s", "file MB", "peak RSS growth MB", "met"],
        table,
    )


if __name__ == "__main__":
    main()
