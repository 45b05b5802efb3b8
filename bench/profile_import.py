"""Where an import's time goes, in-process: a preview of --rows records and its run under
cProfile, in one process set up as the workers are (Django loaded, start-up objects frozen), on
Postgres (a scratch database, BENCH_DATABASE_NAME). Prints each phase's wall time and its
--top functions by cumulative time, then by own time.

    .venv/bin/python bench/profile_import.py [--rows 10000] [--top 25] [--update] [--stored N]

--update previews the same rows a second time in update mode (half of them changing), after
the first run stored them, and profiles that preview and its run instead.

--stored N first imports N customers (unprofiled) whose phones come just before the profiled
rows' (a customer base the file's numbers sit next to: the near-duplicate check's worst case).
The names are drawn from bench.common's lists, afresh for each range of phones.

--times N runs no profiler: it times N imports (each in its own process) and prints the
medians; with --before PATH it times, taking turns, the code of another tree too (a commit
exported with `git archive`), each in a database of its own migrated by its own code, so that
before and after are measured under the same load.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import textwrap
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import (
    BENCH_DB,
    LOCAL_ADMIN_PHONE,
    PYTHON,
    ROOT,
    env_for,
    prepared_database,
    print_table,
    recreate_database,
)

PROFILED = textwrap.dedent(
    """
    import cProfile, io, pstats, time, django
    django.setup()
    from django.urls import get_resolver
    get_resolver().url_patterns
    from primepre.collector import freeze_start_up_objects
    from users.imports import read, run
    from users.imports.parse import ImportOptions
    from users.imports.preview import preview_create
    from users.imports.store import PreviewSource
    from users.models import ImportJob, User
    from users.customers.rules import normalize_phone
    freeze_start_up_objects()
    owner = User.objects.get(phone=normalize_phone({admin!r}))
    import random
    from bench.common import FIRST, LAST
    start, rows, update, stored = {start}, {rows}, {update}, {stored}
    def records(changed, first=start, count=rows):
        names = random.Random(first)
        return [
            {{"shipping_mark": f"PR {{n}}", "first_name": names.choice(FIRST),
              "last_name": names.choice(LAST), "email": f"pr{{n}}@example.com",
              "phone": f"024{{n:07d}}", "region": "Ashanti",
              "company_name": "Changed" if changed and n % 2 else ""}}
            for n in range(first, first + count)
        ]
    def imported(job):
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.QUEUED, confirmed_at=job.created_at
        )
        assert run.import_job_run(job_id=job.pk, worker_id="bench") == "complete"
    def updating(changed):
        table = read._record_rows(changed)
        source = PreviewSource("update.json", 1, "0" * 64, "json")
        options = ImportOptions(mode=ImportJob.Mode.UPDATE)
        return preview_create(owner=owner, source=source, rows=table, options=options)
    for first in range(start - stored, start, 100_000):
        imported(read.preview_from_records(
            owner=owner, records=records(False, first, min(100_000, start - first))))
    if update:
        imported(read.preview_from_records(owner=owner, records=records(False)))
    timed = {{}}
    for phase in ("preview", "run"):
        profile = cProfile.Profile()
        wall = time.perf_counter()
        if {profiled}:
            profile.enable()
        if phase == "preview":
            job = updating(records(True)) if update else read.preview_from_records(
                owner=owner, records=records(False))
        else:
            imported(job)
        profile.disable()
        wall = time.perf_counter() - wall
        timed[phase] = wall
        if not {profiled}:
            continue
        print(f"== {{phase}}: {{wall:.3f}} s wall ==")
        for order in ("cumulative", "tottime"):
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats(order).print_stats({top})
            print(out.getvalue().split("ncalls", 1)[-1])
    print(json.dumps(timed))
    """
).replace("import cProfile,", "import json, cProfile,")


def _database(root: Path, name: str) -> dict:
    """A fresh database `name`, migrated by the code under `root`, with the local admin."""
    env = env_for(recreate_database(name))
    for command in (["migrate", "--noinput"], ["createcachetable"], ["ensure_local_admin"]):
        subprocess.run(
            [PYTHON, "manage.py", *command], cwd=root, env=env, check=True, capture_output=True
        )
    return env


def _timed(root: Path, env: dict, code: str) -> dict:
    output = subprocess.run(
        [PYTHON, "-c", code],
        cwd=root,
        env={**env, "PYTHONPATH": str(root), "GC_FREEZE": "1"},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def compare(args) -> None:
    """--times: medians of N unprofiled imports, of this tree and of --before's, in turns."""
    load = os.getloadavg()[0]
    trees = {"this tree": ROOT}
    if args.before:
        trees["before"] = Path(args.before)
    envs = {
        label: _database(root, f"{BENCH_DB}_{n}") for n, (label, root) in enumerate(trees.items())
    }
    runs: dict[str, list[dict]] = {label: [] for label in trees}
    for turn in range(args.times):
        for label, root in trees.items():
            code = PROFILED.format(
                admin=LOCAL_ADMIN_PHONE,
                start=3_000_000 + turn * args.rows * 2,
                rows=args.rows,
                top=0,
                update=args.update,
                stored=0,
                profiled=False,
            )
            runs[label].append(_timed(root, envs[label], code))
    table = [
        [
            label,
            *(f"{statistics.median(r[phase] for r in found):.3f}" for phase in ("preview", "run")),
            f"{statistics.median(r['preview'] + r['run'] for r in found):.3f}",
        ]
        for label, found in runs.items()
    ]
    print_table(
        f"{'Update' if args.update else 'Create'} of {args.rows:,} rows in-process on Postgres "
        f"({os.cpu_count()} cores, load average {load:.2f} at the start, "
        f"{os.getloadavg()[0]:.2f} at the end; medians of {args.times}, the trees taking turns)",
        ["code", "preview s", "run s", "preview + run s"],
        table,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--update", action="store_true")
    parser.add_argument("--stored", type=int, default=0)
    parser.add_argument("--times", type=int, default=0)
    parser.add_argument("--before", default="")
    args = parser.parse_args()
    if args.times:
        compare(args)
        return
    print(f"load average {os.getloadavg()[0]:.2f} at the start")
    env, _ = prepared_database()
    code = PROFILED.format(
        admin=LOCAL_ADMIN_PHONE,
        start=3_000_000,
        rows=args.rows,
        top=args.top,
        update=args.update,
        stored=args.stored,
        profiled=True,
    )
    subprocess.run([PYTHON, "-c", code], cwd=ROOT, env=env, check=True)


if __name__ == "__main__":
    main()
