"""What users_user's schema costs an import's inserts: 10,000 customers COPYed in batches of
1,000 (as the run writes them, with import_job and created_by set) into a table of --stored
customers, with the table as it is, without its ten plain indexes, without its two foreign
keys (deferred: checked at each batch's COMMIT, here at each statement's end), without both,
and without the five of those indexes that hold the near-duplicate check's keys, all and each,
on Postgres (a scratch database). Each variant drops its part in a transaction that is
rolled back, so the table is the same for every one; variants alternate, medians of --runs.

    .venv/bin/python bench/bench_schema.py [--stored 100000] [--runs 5]
"""

import argparse
import os
import subprocess
import sys
import textwrap

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.bench_sweep import SEED
from bench.common import BENCH_DB, PYTHON, ROOT, prepared_database, print_table

MEASURE = textwrap.dedent(
    """
    import io, statistics, time, django
    django.setup()
    from django.db import connection, transaction
    from users.models import ImportJob, User
    admin = User.objects.filter(is_superuser=True).first()
    job = ImportJob.objects.create(owner=admin)
    with connection.cursor() as cursor:
        cursor.execute({seed!r}, [{stored}])
        cursor.execute("ANALYZE users_user")
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'users_user' "
            "AND indexdef NOT LIKE 'CREATE UNIQUE%%'"
        )
        plain = [name for (name,) in cursor.fetchall()]
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'users_user'::regclass "
            "AND contype = 'f' AND conname NOT LIKE '%%group%%'"
        )
        keys = [name for (name,) in cursor.fetchall()]
    def batch(start):
        return "".join(
            f"!\\tf\\t+23324{{n:07d}}\\tc{{n}}@example.com\\tPM C{{n}}\\tAma\\tMensah\\t\\t\\t"
            f"ASHANTI\\tCUSTOMER\\tINDIVIDUAL\\t[]\\tf\\tt\\tf\\t2026-01-01T00:00:00+00:00\\t"
            f"{{n}}\\t{{job.pk}}\\t{{admin.pk}}\\tf\\n"
            for n in range(start, start + 1000)
        )
    COLUMNS = ("password, is_superuser, phone, email, shipping_mark, first_name, last_name, "
               "nickname, company_name, region, user_role, user_type, accessible_warehouses, "
               "is_verified, is_active, is_staff, date_joined, source_row, import_job_id, "
               "created_by_id, email_unproven")
    near = sorted(name for name in plain if name in {near!r})
    variants = {{"as is": ([], []), "without the plain indexes": (plain, []),
                "without the foreign keys": ([], keys), "without both": (plain, keys),
                "without the near-duplicate keys": (near, [])}}
    variants.update({{f"without {{name}}": ([name], []) for name in near}})
    times = {{name: [] for name in variants}}
    class Rollback(Exception):
        pass
    for run in range({runs}):
        for name, (indexes, constraints) in variants.items():
            try:
                with transaction.atomic(), connection.cursor() as cursor:
                    for index in indexes:
                        cursor.execute(f'DROP INDEX "{{index}}"')
                    for constraint in constraints:
                        cursor.execute(f'ALTER TABLE users_user DROP CONSTRAINT "{{constraint}}"')
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                    started = time.perf_counter()
                    for start in range(0, 10_000, 1000):
                        cursor.copy_expert(
                            f"COPY users_user ({{COLUMNS}}) FROM STDIN", io.StringIO(batch(start))
                        )
                    times[name].append(time.perf_counter() - started)
                    raise Rollback
            except Rollback:
                pass
    print(len(plain), len(keys), sorted(plain), sorted(keys), len(variants))
    for name, seconds in times.items():
        print(name, statistics.median(seconds))
    """
)


# The indexes of the near-duplicate check's blocking keys (users.models), each measured alone.
NEAR_DUPLICATE_KEYS = {
    "user_phone_but_block1_idx",
    "user_phone_but_block2_idx",
    "user_phone_but_block3_idx",
    "user_phone_but_block4_idx",
    "user_email_local_part_idx",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stored", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    env, _ = prepared_database(f"{BENCH_DB}_schema")
    output = subprocess.run(
        [
            PYTHON,
            "-c",
            MEASURE.format(seed=SEED, stored=args.stored, runs=args.runs, near=NEAR_DUPLICATE_KEYS),
        ],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    lines = output.splitlines()
    count = int(next(line for line in lines if line[:1].isdigit()).rsplit(" ", 1)[1])
    print(lines[-count - 1])
    figures = [line.rsplit(" ", 1) for line in lines[-count:]]
    whole = float(figures[0][1])
    print_table(
        f"10,000 customers COPYed in batches of 1,000 into {args.stored:,} (2 cores, load "
        f"average {load:.2f} at the start; medians of {args.runs})",
        ["users_user", "s", "saved s"],
        [[name, f"{float(s):.3f}", f"{whole - float(s):.3f}"] for name, s in figures],
    )


if __name__ == "__main__":
    main()
