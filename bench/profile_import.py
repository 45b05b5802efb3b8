"""Where an import's time goes, in-process: a preview of --rows records and its run under
cProfile, in one process set up as the workers are (Django loaded, start-up objects frozen), on
Postgres (a scratch database, BENCH_DATABASE_NAME). Prints each phase's wall time and its
--top functions by cumulative time, then by own time.

    .venv/bin/python bench/profile_import.py [--rows 10000] [--top 25] [--update]

--update previews the same rows a second time in update mode (half of them changing), after
the first run stored them, and profiles that preview and its run instead.
"""

import argparse
import os
import subprocess
import sys
import textwrap

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import LOCAL_ADMIN_PHONE, PYTHON, ROOT, prepared_database

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
    start, rows, update = {start}, {rows}, {update}
    def records(changed):
        return [
            {{"shipping_mark": f"PR {{n}}", "first_name": "Ama", "last_name": "Mensah",
              "email": f"pr{{n}}@example.com", "phone": f"024{{n:07d}}", "region": "Ashanti",
              "company_name": "Changed" if changed and n % 2 else ""}}
            for n in range(start, start + rows)
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
    if update:
        imported(read.preview_from_records(owner=owner, records=records(False)))
    for phase in ("preview", "run"):
        profile = cProfile.Profile()
        wall = time.perf_counter()
        profile.enable()
        if phase == "preview":
            job = updating(records(True)) if update else read.preview_from_records(
                owner=owner, records=records(False))
        else:
            imported(job)
        profile.disable()
        wall = time.perf_counter() - wall
        print(f"== {{phase}}: {{wall:.3f}} s wall ==")
        for order in ("cumulative", "tottime"):
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats(order).print_stats({top})
            print(out.getvalue().split("ncalls", 1)[-1])
    """
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--update", action="store_true")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} at the start")
    env, _ = prepared_database()
    code = PROFILED.format(
        admin=LOCAL_ADMIN_PHONE, start=3_000_000, rows=args.rows, top=args.top, update=args.update
    )
    subprocess.run([PYTHON, "-c", code], cwd=ROOT, env=env, check=True)


if __name__ == "__main__":
    main()
