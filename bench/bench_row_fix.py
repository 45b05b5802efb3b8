"""Row fix benchmark: what fixing one row of a preview costs, and a choice for every possible
duplicate of one, through the real server (gunicorn with gunicorn_config.py) on Postgres (a
scratch database, BENCH_DATABASE_NAME), signed in as the local admin.

    .venv/bin/python bench/bench_row_fix.py [--sizes 10000 100000] [--fixes 9]
        [--possible-duplicates 10000]

For each size: a workbook of that many customers in which every 500th row has a phone too
short to be one is uploaded (the preview), then --fixes of those rows are fixed one at a time
(PATCH .../rows/{row}/ with a valid phone: the row becomes one to create), then as many are
fixed to the phone of the file's first row (each becomes a batch duplicate: the rows sharing
the value are found and classified again), then one row is skipped and taken back. Each time is
the HTTP round trip the admin's page waits for (median and slowest); the file is not read again
(the upload's time is shown beside them for scale).
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
    LOCAL_ADMIN_PHONE,
    _cached_workbook,
    customer_rows,
    login,
    manage,
    prepared_database,
    print_table,
    running_stack,
    upload,
    xlsx_file,
)

ROW = "/api/auth/customers/excel/upload/{}/rows/{}/"
ALL = "/api/auth/customers/excel/upload/{}/possible-duplicates/"
# The phones of the customers the choices are made for: 024 6xxxxxx, their look-alikes 024 7xxxxxx.
CHOICES_PHONE_START = 6_000_000
EVERY = 500  # one row in EVERY has a bad phone
FIRST_DATA_ROW = 2  # the header is row 1


def workbook(size: int, phone_start: int):
    rows = customer_rows(size, phone_start=phone_start)
    for row in rows[EVERY // 2 :: EVERY]:
        row[4] = "12345"
    return _cached_workbook(f"customers-fix-{size}-{phone_start}-names.xlsx", rows)


def patch(base: str, auth: dict, upload_id: str, row: int, body: dict) -> tuple[float, dict]:
    started = time.monotonic()
    response = requests.patch(
        base + ROW.format(upload_id, row), headers=auth, json=body, timeout=60
    )
    elapsed = time.monotonic() - started
    response.raise_for_status()
    return elapsed, response.json()


def measure(base: str, auth: dict, size: int, fixes: int, phone_start: int) -> list[list]:
    path = workbook(size, phone_start)
    started = time.monotonic()
    preview = upload(base, auth, path)
    upload_s = time.monotonic() - started
    preview.raise_for_status()
    body = preview.json()
    upload_id = body["upload_id"]
    assert body["summary"]["invalid"] == size // EVERY, body["summary"]
    bad = [FIRST_DATA_ROW + EVERY // 2 + n * EVERY for n in range(size // EVERY)]
    first_phone = customer_rows(1, phone_start=phone_start)[0][4]
    valid, batch = [], []
    for n, row in enumerate(bad[:fixes]):
        elapsed, answer = patch(base, auth, upload_id, row, {"phone": f"0271{n:06d}"})
        assert answer["row"]["outcome"] == "create", answer["row"]
        valid.append(elapsed)
    for row in bad[fixes : 2 * fixes]:
        elapsed, answer = patch(base, auth, upload_id, row, {"phone": first_phone})
        assert answer["row"]["outcome"] == "batch", answer["row"]
        batch.append(elapsed)
    skip_s, answer = patch(base, auth, upload_id, bad[0], {"action": "skip"})
    assert answer["summary"]["skipped"] == 1, answer["summary"]
    include_s, _ = patch(base, auth, upload_id, bad[0], {"action": "include"})

    def ms(values: list[float]) -> str:
        return f"{statistics.median(values) * 1000:.0f} / {max(values) * 1000:.0f}"

    return [
        [f"{size:,}", "to create (valid phone)", ms(valid), f"{upload_s:.1f}"],
        [f"{size:,}", "batch duplicate (first row's phone)", ms(batch), f"{upload_s:.1f}"],
        [f"{size:,}", "skip, then include", ms([skip_s, include_s]), f"{upload_s:.1f}"],
    ]


def look_alikes(count: int) -> object:
    """The workbook of the customers xlsx_file(count, CHOICES_PHONE_START) creates, each again
    with the phone's first digit after 024 one more (one digit apart from theirs, and nobody's),
    and neither mark nor email (which would clash exactly)."""
    rows = customer_rows(count, phone_start=CHOICES_PHONE_START)
    for row in rows:
        row[0], row[3] = "", ""
        row[4] = row[4][:3] + str(int(row[4][3]) + 1) + row[4][4:]
    return _cached_workbook(f"customers-look-alikes-{count}.xlsx", rows)


def measure_choices(base: str, auth: dict, env: dict, count: int) -> list[list]:
    """Each choice for all at once, on a preview of `count` possible duplicates."""
    manage(
        env,
        "import_customers",
        str(xlsx_file(count, phone_start=CHOICES_PHONE_START)),
        "--as",
        LOCAL_ADMIN_PHONE,
    )
    path = look_alikes(count)
    rows = []
    for action in ("create", "update", "skip"):
        started = time.monotonic()
        preview = upload(base, auth, path)
        upload_s = time.monotonic() - started
        preview.raise_for_status()
        body = preview.json()
        assert body["summary"]["possible_duplicates"] == count, body["summary"]
        started = time.monotonic()
        response = requests.post(
            base + ALL.format(body["upload_id"]),
            headers=auth,
            json={"action": action},
            timeout=600,
        )
        elapsed = time.monotonic() - started
        response.raise_for_status()
        answer = response.json()
        assert answer["chosen"] == count, answer
        rows.append(
            [
                f"{count:,}",
                action,
                str(answer["outcomes"]),
                f"{elapsed * 1000:.0f}",
                f"{upload_s:.1f}",
            ]
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--fixes", type=int, default=9)
    parser.add_argument("--possible-duplicates", type=int, default=10_000)
    args = parser.parse_args()
    env, password = prepared_database()
    rows, chosen = [], []
    with running_stack(env, workers=0) as (base, _processes):
        auth = login(base, password)
        for n, size in enumerate(args.sizes):
            assert size // EVERY >= 2 * args.fixes, "too few bad rows for --fixes"
            rows += measure(base, auth, size, args.fixes, 8_000_000 + n * 200_000)
        if args.possible_duplicates:
            chosen = measure_choices(base, auth, env, args.possible_duplicates)
    load = open("/proc/loadavg").read().split()[:3]  # noqa: SIM115
    print_table(
        f"Fixing one row of a preview, Postgres, HTTP round trip (load average "
        f"{' '.join(load)}, {psutil.cpu_count()} CPUs)",
        ["rows", "fix", "median / slowest ms", "upload s"],
        rows,
    )
    if chosen:
        print_table(
            "A choice for every possible duplicate of a preview, Postgres, HTTP round trip",
            ["possible duplicates", "action", "the rows now", "ms", "upload s"],
            chosen,
        )


if __name__ == "__main__":
    main()
