"""Python's collector in the serving processes: a 10,000-row preview and its run, in one process
set up as the gunicorn worker and the task worker are (Django loaded, the URLconf imported),
with the start-up objects frozen (primepre.collector, GC_FREEZE=1) and without (GC_FREEZE=0),
on Postgres (a scratch database, BENCH_DATABASE_NAME).

    .venv/bin/python bench/bench_gc.py [--rows 10000] [--runs 5]

Each mode runs in its own process, the modes alternating, --runs imports each; every figure is
a median. "gc s" is the time spent inside collections (gc.callbacks), "full" the number of
full (generation 2) collections, CPU the process's own time (less sensitive than wall time to
the other processes sharing the machine).
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

ONE_IMPORT = textwrap.dedent(
    """
    import gc, json, time, django
    django.setup()
    from django.urls import get_resolver
    get_resolver().url_patterns
    from primepre.collector import freeze_start_up_objects
    from users.imports import read, run
    from users.models import ImportJob, User
    from users.customers.rules import normalize_phone
    freeze_start_up_objects()
    spent = {{"gc": 0.0, "full": 0}}
    started_at = {{}}
    def timed(phase, info):
        if phase == "start":
            started_at["t"] = time.perf_counter()
        else:
            spent["gc"] += time.perf_counter() - started_at["t"]
            spent["full"] += info["generation"] == 2
    gc.callbacks.append(timed)
    owner = User.objects.get(phone=normalize_phone({admin!r}))
    records = [
        {{"shipping_mark": f"GC {{n}}", "first_name": "Ama", "last_name": "Mensah",
          "email": f"gc{{n}}@example.com", "phone": f"024{{n:07d}}", "region": "Ashanti"}}
        for n in range({start}, {start} + {rows})
    ]
    figures = {{}}
    for phase in ("preview", "run"):
        spent.update(gc=0.0, full=0)
        wall, cpu = time.perf_counter(), time.process_time()
        if phase == "preview":
            job = read.preview_from_records(owner=owner, records=records)
            del records
        else:
            ImportJob.objects.filter(pk=job.pk).update(
                status=ImportJob.Status.QUEUED, confirmed_at=job.created_at
            )
            assert run.import_job_run(job_id=job.pk, worker_id="bench") == "complete"
        figures[phase] = [time.perf_counter() - wall, time.process_time() - cpu,
                          spent["gc"], spent["full"]]
    print(json.dumps(figures))
    """
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    env, _ = prepared_database()
    results: dict[str, list[dict]] = {"0": [], "1": []}
    for run in range(args.runs):
        for mode in results:
            start = 1_000_000 + (run * 2 + int(mode)) * args.rows
            code = ONE_IMPORT.format(admin=LOCAL_ADMIN_PHONE, start=start, rows=args.rows)
            output = subprocess.run(
                [PYTHON, "-c", code],
                cwd=ROOT,
                env={**env, "GC_FREEZE": mode},
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            results[mode].append(json.loads(output.strip().splitlines()[-1]))
    table = []
    for mode, runs in results.items():
        for phase in ("preview", "run"):
            wall, cpu, collected, full = (
                statistics.median(r[phase][i] for r in runs) for i in range(4)
            )
            table.append(
                [
                    "frozen" if mode == "1" else "not frozen",
                    phase,
                    f"{wall:.3f}",
                    f"{cpu:.3f}",
                    f"{collected:.3f}",
                    f"{full:.0f}",
                ]
            )
    print_table(
        f"Collector, {args.rows:,} rows in-process on Postgres (2 cores, load average "
        f"{load:.2f} at the start; medians of {args.runs})",
        ["start-up objects", "phase", "wall s", "CPU s", "gc s", "full collections"],
        table,
    )


if __name__ == "__main__":
    main()
