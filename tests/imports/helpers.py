"""Building import inputs and running jobs in tests."""

from users.imports import read
from users.imports import run as runner
from users.models import ImportJob


def phone(n: int) -> str:
    """A distinct valid Ghana mobile number for each n (0241000000 + n)."""
    return f"024{1000000 + n:07d}"


def customer_record(n: int, **overrides) -> dict:
    return {
        "shipping_mark": f"PM TEST {n}",
        "first_name": f"First{n}",
        "last_name": f"Last{n}",
        "email": f"person{n}@example.com",
        "phone": phone(n),
        "region": "Ashanti",
        **overrides,
    }


def records(count: int, start: int = 0) -> list[dict]:
    return [customer_record(n) for n in range(start, start + count)]


def preview(owner, rows: list[dict]) -> ImportJob:
    return read.preview_from_records(owner=owner, records=rows)


def queue(job: ImportJob) -> ImportJob:
    """PARSED -> QUEUED without running it (the task is dropped)."""
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.QUEUED, confirmed_at=job.created_at
    )
    job.refresh_from_db()
    return job


def run(job: ImportJob, worker: str = "test-worker", **kwargs) -> str:
    return runner.import_job_run(job_id=job.pk, worker_id=worker, **kwargs)
