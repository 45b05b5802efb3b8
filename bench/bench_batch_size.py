"""The run's batch size (IMPORT_BATCH_SIZE), swept: a 10,000-row preview and its run in one
process set up as the task worker is (Django loaded, start-up objects frozen), on Postgres (a
scratch database, BENCH_DATABASE_NAME), for each size.

    .venv/bin/python bench/bench_batch_size.py [--sizes 250 500 ...] [--rows 10000] [--runs 5]

Each size runs in its own process, the sizes taking turns, --runs imports each; every figure is
a median. A batch is one transaction (one commit, so one flush of the WAL), whose lease check,
progress and heartbeat are one UPDATE and whose customers are one INSERT ... SELECT: a larger
batch commits less often, and holds the job's row lock (which a cancel waits for) longer.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import textwrap

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import LOCAL_ADMIN_PHONE, PYTHON, ROOT, prepared_database, print_table

ONE_RUN = textwrap.dedent(
    """
    import json, time, django
    django.setup()
    from primepre.collector import freeze_start_up_objects
    from users.imports import read, run
    from users.models import ImportJob, User
    from users.customers.rules import normalize_phone
    freeze_start_up_objects()
    owner = User.objects.get(phone=normalize_phone({admin!r}))
    records = [
        {{"shipping_mark": f"BS {{n}}", "first_name": "Ama", "last_name": "Mensah",
          "email": f"bs{{n}}@example.com", "phone": f"024{{n:07d}}", "region": "Ashanti"}}
        for n in range({start}, {start} + {rows})
    ]
    job = read.preview_from_records(owner=owner, records=records)
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.QUEUED, confirmed_at=job.created_at
    )
    wall = time.perf_counter()
    assert run.import_job_run(job_id=job.pk, worker_id="bench") == "complete"
    print(json.dumps({{"run_s": time.perf_counter() - wall}}))
    """
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[250, 500, 1000, 2000, 5000])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    env, _ = prepared_database()
    results: dict[int, list[float]] = {size: [] for size in args.sizes}
    for run in range(args.runs):
        for turn, size in enumerate(args.sizes):
            start = 4_000_000 + (run * len(args.sizes) + turn) * args.rows
            code = ONE_RUN.format(admin=LOCAL_ADMIN_PHONE, start=start, rows=args.rows)
            output = subprocess.run(
                [PYTHON, "-c", code],
                cwd=ROOT,
                env={**env, "IMPORT_BATCH_SIZE": str(size), "GC_FREEZE": "1"},
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            results[size].append(json.loads(output.strip().splitlines()[-1])["run_s"])
    table = []
    for size, runs in results.items():
        median = statistics.median(runs)
        batches = -(-args.rows // size)
        table.append(
            [
                f"{size:,}",
                f"{batches}",
                f"{median:.3f}",
                f"{median / batches * 1000:.1f}",
                f"{max(runs) / median:.2f}",
            ]
        )
    print_table(
        f"Run of {args.rows:,} new customers by batch size, in-process on Postgres "
        f"({os.cpu_count()} cores, load average {load:.2f} at the start, "
        f"{os.getloadavg()[0]:.2f} at the end; medians of {args.runs})",
        ["batch size", "batches", "run s", "ms a batch", "slowest / median"],
        table,
    )


if __name__ == "__main__":
    main()
