"""Building import inputs and running jobs in tests."""

from collections.abc import Iterable, Sequence

from django.db import connection

from tests.factories import StaffFactory
from users.customers.rules import CUSTOMER_FIELDS
from users.imports import read, stored_rows
from users.imports import run as runner
from users.imports.stored_rows import Outcome
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


# A till's weekly export (remembered column mappings): no header names a field, so the admin
# chooses every column the first time.
TILL_HEADER = ["Cust Ref", "Fore", "Fam", "Cellphone #", "Other Cell", "Town"]
TILL_CHOICES = {
    "shipping_mark": "Cust Ref",
    "first_name": "Fore",
    "last_name": "Fam",
    "phone": "Cellphone #",
}


def till_rows(first: int, count: int = 2) -> list[list]:
    """Rows of the till's export: rows `first`... have distinct phones (phone(n)) and other
    phones (020...)."""
    return [
        [f"PM TILL {n}", f"First{n}", f"Last{n}", phone(n), f"020{1000000 + n:07d}", "Volta"]
        for n in range(first, first + count)
    ]


def staged_job(rows: Iterable[dict]) -> ImportJob:
    """A job holding these rows staged to create, in this order: each row its normalised fields
    and `source_row`, its number in the file."""
    job = ImportJob.objects.create(owner=StaffFactory())
    staged = []
    for position, values in enumerate(rows):
        fields = {name: values.get(name) for name in CUSTOMER_FIELDS}
        fields["company_name"] = fields["company_name"] or ""
        email, mark = fields["email"], fields["shipping_mark"]
        staged.append(
            (
                position,
                values["source_row"],
                Outcome.CREATE,
                True,
                *fields.values(),
                email.lower() if email else None,
                mark.upper() if mark else None,
                "first_name,last_name,phone",
                "[]",
            )
        )
    stored_rows.stage(job.pk, staged)
    return job


def customers_seeded(count: int, *, phone_sql: str, phone_params: Sequence[object] = ()) -> None:
    """`count` customers (Ama Mensah, number n from 1: email cn@example.com, mark PMn, the phone
    `phone_sql` makes of n), written by Postgres itself (seconds, where the ORM would take
    minutes), then ANALYZEd, as after an import."""
    with connection.cursor() as cursor:
        # `phone_sql` is a test's own literal expression, never input.
        cursor.execute(
            "INSERT INTO users_user (password, is_superuser, phone, email, shipping_mark, "  # noqa: S608
            "first_name, last_name, nickname, company_name, region, user_role, user_type, "
            "accessible_warehouses, is_verified, is_active, is_staff, date_joined, "
            "email_unproven) "
            f"SELECT '!', false, {phone_sql}, 'c' || n || '@example.com', "
            "'PM' || n, 'Ama', 'Mensah', '', '', 'ASHANTI', 'CUSTOMER', 'INDIVIDUAL', '[]', "
            "false, true, false, now(), false FROM generate_series(1, %s) AS n",
            [*phone_params, count],
        )
        cursor.execute("ANALYZE users_user")
