"""Remembered column mappings benchmark: what looking one up costs an upload, on Postgres (a
scratch database, BENCH_DATABASE_NAME), in this process (no server: the lookup is a few
milliseconds at most, which a server's request-to-request noise would hide).

    .venv/bin/python bench/bench_mappings.py [--stored 1 10000 100000] [--rows 10000] [--runs 5]

For each number of remembered mappings stored: the lookup alone (the query mapping_recall runs,
for headers that are remembered and for headers that are not; median of 200), the whole of
mapping_recall on a header row (peek, query, and the check that the choice maps the row; median
of 200), how many queries mapping_recall runs, and the plan Postgres chooses for the lookup.
Then the upload of a --rows file whose headers name no field: sent with its column_mapping (no
lookup) and sent without one, read with the remembered choice (lookup). Medians of --runs.
"""

import argparse
import hashlib
import io
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import customer_rows, prepared_database, print_table

HEADERS = ["Cust Ref", "Fore", "Fam", "Mail", "Cellphone #", "Town", "Firm", "Alias"]
CHOICES = {
    "shipping_mark": "Cust Ref",
    "first_name": "Fore",
    "last_name": "Fam",
    "phone": "Cellphone #",
}


def setup(env: dict) -> None:
    os.environ.update(env)
    import django

    django.setup()


def seed(count: int) -> None:
    """`count` remembered mappings in all (other files' headers), then ANALYZE."""
    from django.db import connection

    from users.models import RememberedMapping

    have = RememberedMapping.objects.count()
    batch = [
        RememberedMapping(
            headers_key=hashlib.sha256(f"other file {n}".encode()).hexdigest(),
            headers=[f"Header {n}", "Phone"],
            choices={"phone": "Phone"},
        )
        for n in range(have, count)
    ]
    RememberedMapping.objects.bulk_create(batch, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE users_rememberedmapping")


def median_ms(step, times: int = 200) -> float:
    timings = []
    for _ in range(times):
        started = time.perf_counter()
        step()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000


def lookup_row(stored: int, options) -> list:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from users.imports import mappings
    from users.models import RememberedMapping

    hit = mappings.headers_key(HEADERS)
    miss = mappings.headers_key([*HEADERS, "Notes"])
    header_row = [(1, list(HEADERS))]

    def recall():
        rows, recalled = mappings.mapping_recall(header_row, chosen=None, options=options)
        assert recalled is not None
        list(rows)

    with CaptureQueriesContext(connection) as queries:
        recall()
    plan = RememberedMapping.objects.filter(headers_key=hit).order_by().explain()
    scan = next(line for line in plan.splitlines() if "Scan" in line)
    return [
        f"{stored:,}",
        f"{median_ms(lambda: mappings._remembered_for(hit)):.2f}",
        f"{median_ms(lambda: mappings._remembered_for(miss)):.2f}",
        f"{median_ms(recall):.2f}",
        str(len(queries)),
        scan.split("  (")[0].replace(" on users_rememberedmapping", "").strip(" ->"),
    ]


def workbook(rows: int) -> bytes:
    from users.excel.writing import write_xlsx

    buffer = io.BytesIO()
    data = [
        [mark, first, last, email, phone, region, "", ""]
        for mark, first, last, email, phone, region, *_ in customer_rows(
            rows, phone_start=5_000_000
        )
    ]
    write_xlsx(buffer, title="Till", headers=HEADERS, rows=data)
    return buffer.getvalue()


def upload_seconds(content: bytes, owner, chosen: dict | None) -> float:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from users.imports import read

    started = time.perf_counter()
    job = read.preview_from_upload(
        owner=owner, upload=SimpleUploadedFile("till.xlsx", content), chosen=chosen
    )
    elapsed = time.perf_counter() - started
    assert job.to_create_count == job.total_rows, job.column_mapping
    assert bool(job.column_mapping.get("remembered")) == (chosen is None)
    job.delete()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stored", type=int, nargs="+", default=[1, 10_000, 100_000])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    env, _password = prepared_database()
    setup(env)
    from users.imports import mappings
    from users.imports.parse import CREATE_ONLY
    from users.models import RememberedMapping, Role, User

    owner = User.objects.create(phone="+233200000999", user_role=Role.ADMIN, is_verified=True)
    RememberedMapping.objects.create(
        headers_key=mappings.headers_key(HEADERS),
        headers=HEADERS,
        choices=CHOICES,
        chosen_by=owner,
    )
    loads = [os.getloadavg()[0]]
    lookups = []
    for stored in sorted(args.stored):
        seed(stored)
        lookups.append(lookup_row(stored, CREATE_ONLY))
    content = workbook(args.rows)
    upload_seconds(content, owner, CHOICES)  # warm: imports, caches, the reader's first start
    sent, recalled = [], []
    for _ in range(args.runs):
        sent.append(upload_seconds(content, owner, CHOICES))
        recalled.append(upload_seconds(content, owner, None))
    loads.append(os.getloadavg()[0])
    load = f"load average {loads[0]:.1f} at the start, {loads[1]:.1f} at the end"
    print_table(
        f"The lookup, Postgres, medians of 200 ({load})",
        [
            "mappings stored",
            "lookup, remembered ms",
            "lookup, not remembered ms",
            "mapping_recall ms",
            "queries",
            "plan",
        ],
        lookups,
    )
    print_table(
        f"Upload of {args.rows:,} rows, {max(args.stored):,} mappings stored, medians of "
        f"{args.runs} ({load})",
        ["column_mapping sent (no lookup) s", "read with the remembered one s", "difference ms"],
        [
            [
                f"{statistics.median(sent):.3f}",
                f"{statistics.median(recalled):.3f}",
                f"{(statistics.median(recalled) - statistics.median(sent)) * 1000:+.0f}",
            ]
        ],
    )


if __name__ == "__main__":
    main()
