"""What one batch of an import writes: its new customers in one statement from the staged rows
(insert_staged: INSERT ... SELECT), its updates in one more with a CustomerChange each
(Updates), or, when the database refuses the batch, one customer at a time with the reason a
row failed recorded (insert_one, update_one). The run (users.imports.run) holds the
transaction, the lease and the checkpoint around them."""

import json
import secrets
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db import IntegrityError, connection, transaction

from users.customers import roles, rules, selectors, services
from users.customers.rules import CUSTOMER_FIELDS
from users.imports import bulk
from users.imports.clashes import column
from users.imports.classify_rules import refusal_match
from users.imports.stored_rows import Outcome, StoredRow, staged_table
from users.models import CustomerChange, ImportJob, ImportRowError, ImportStagedRow, Role, User

REJECTED = "rejected"
CUSTOMER_GONE = "customer_deleted"


def _unusable_password() -> str:
    """What make_password(None) returns ("!" and random text: no hash, no shared secret), made
    with one call to the OS's random source instead of forty: 1 us instead of 24 us a row."""
    return UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(30)


def customer_of(job: ImportJob, row: StoredRow, now: datetime) -> User:
    values = row.fields()
    return User(
        **values,
        user_role=Role.CUSTOMER,
        password=_unusable_password(),
        created_by_id=job.owner_id,
        import_job_id=job.pk,
        source_row=row.source_row,
        date_joined=now,
    )


_ROW_FIELDS = ("password", *CUSTOMER_FIELDS, "source_row")


def _random_password_sql() -> str:
    """SQL for what _unusable_password makes, a new value for each row: the prefix (the one
    parameter) and random text from the database (gen_random_uuid: Postgres 13 on)."""
    if connection.vendor == "postgresql":
        return "%s || replace(CAST(gen_random_uuid() AS text), '-', '')"
    return "%s || lower(hex(randomblob(20)))"


def insert_staged(job: ImportJob, *, start: int, end: int, now: datetime) -> list[int]:
    """The staged rows to create from position `start` to `end` (not included) as customers,
    in one INSERT ... SELECT (no row passes through Python); returns their rows in the file.
    IntegrityError if the database refuses any of them. What is the same for every customer
    (role, flags, owner, job, date joined) comes from one customer built as bulk_create would
    build it, each value prepared by its field and cast to its column's type."""
    quote = connection.ops.quote_name
    model = User(
        user_role=Role.CUSTOMER, created_by_id=job.owner_id, import_job_id=job.pk, date_joined=now
    )
    shared = [
        field
        for field in User._meta.concrete_fields
        if not field.primary_key and field.name not in _ROW_FIELDS
    ]
    staged = {
        name: column(ImportStagedRow, name, "s")
        for name in (*CUSTOMER_FIELDS, "source_row", "job", "position", "outcome")
    }
    columns = [column(User, name) for name in _ROW_FIELDS]
    columns += [quote(str(field.column)) for field in shared]
    selected = [
        _random_password_sql(),
        *(staged[name] for name in (*CUSTOMER_FIELDS, "source_row")),
        *(bulk.typed("%s", field) for field in shared),
    ]
    # Only names from the models and placeholders: the values go as parameters.
    sql = (
        f"INSERT INTO {quote(User._meta.db_table)} ({', '.join(columns)}) "  # noqa: S608
        f"SELECT {', '.join(selected)} FROM {staged_table()} s "
        f"WHERE {staged['job']} = %s AND {staged['position']} >= %s "
        f"AND {staged['position']} < %s AND {staged['outcome']} IN (%s, %s) "
        f"ORDER BY {staged['position']} RETURNING {columns[len(CUSTOMER_FIELDS) + 1]}"
    )
    params = [
        UNUSABLE_PASSWORD_PREFIX,
        *(field.get_db_prep_save(getattr(model, field.attname), connection) for field in shared),
        ImportStagedRow._meta.get_field("job").get_db_prep_value(job.pk, connection),
        start,
        end,
        Outcome.CREATE.value,
        Outcome.POSSIBLE_DUPLICATE.value,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted(row[0] for row in cursor.fetchall())


def _record_failure(
    job: ImportJob, row: StoredRow, user: User, *, exclude_id: int | None = None
) -> None:
    values = {field: getattr(user, field) for field in selectors.UNIQUE_FIELDS}
    clashes = selectors.Clashes([values], exclude_id=exclude_id)
    problems = rules.duplicate_problems(values, clashes.of(values))
    if not problems:
        ImportRowError.objects.create(
            job=job,
            row=row.source_row,
            position=row.position,
            code=REJECTED,
            message="The database refused this row.",
            at_run=True,
        )
        return
    ImportRowError.objects.bulk_create(
        ImportRowError(
            job=job,
            row=row.source_row,
            position=row.position,
            field=p.field,
            code=p.code,
            message=p.message,
            value=str(p.value)[:300],
            at_run=True,
        )
        for p in problems
    )


def insert_one(job: ImportJob, row: StoredRow, user: User) -> bool:
    """Inserts one customer in a savepoint; False (and the reason recorded) if refused."""
    for attempt in range(2):
        try:
            with transaction.atomic():
                user.save(force_insert=True)
            return True
        except IntegrityError:
            if User.objects.filter(import_job_id=job.pk, source_row=row.source_row).exists():
                return True  # stored by an earlier attempt of this job
            mark_taken = selectors.shipping_marks_taken(marks=[user.shipping_mark])
            if attempt == 0 and row.mark_generated and mark_taken:
                # The mark was ours to choose: choose another rather than fail the row.
                user.shipping_mark = services.shipping_mark_generate(first_name=user.first_name)
                user.pk = None
                continue
            break
    user.pk = None
    _record_failure(job, row, user)
    return False


_CHANGE_FIELDS = ("customer", "source_row", "fields")
_GONE = roles.Refusal(
    CUSTOMER_GONE, "", "The customer this row matched was deleted after the preview."
)


class Updates:
    """What the update rows of one batch do: the customers' rows as they will be, the changes
    to record, and the rows found unchanged, or not written: their customer is gone, or the
    import may no longer write to it (roles.import_refusal, decided on the locked rows: the
    account may have been made staff, or its holder may have set a password, since the
    preview)."""

    def __init__(self, job: ImportJob, batch: list[StoredRow]):
        ids = [cast(int, row.customer_id) for row in batch]  # an update row names its customer
        # Locked: nobody changes them between this read and the UPDATE, so `old` is true and
        # the rule is decided on what the UPDATE writes to.
        current = selectors.customer_fields_of(ids=ids, lock=True)
        # The customers' rows as they will be, and the fields any of them changes: the UPDATE
        # sets only those columns (a file mostly changes the same few fields of every row).
        self.rows: list[dict[str, Any]] = []
        self.fields: set[str] = set()
        self.changes: list[tuple[Any, ...]] = []
        self.unchanged = 0
        self.not_written: list[tuple[StoredRow, roles.Refusal]] = []
        for row, customer_id in zip(batch, ids, strict=True):
            account = current.get(customer_id)
            if account is None:
                self.not_written.append((row, _GONE))
                continue
            stored = account.fields
            fields = {
                name: {"old": stored[name], "new": new}
                for name, _old, new in row.changes
                if stored[name] != new
            }
            refusal = roles.import_refusal(
                account.target, match=refusal_match(mode=job.mode, match=job.match), fields=fields
            )
            if refusal is not None:
                self.not_written.append((row, refusal))
                continue
            if not fields:
                self.unchanged += 1
                continue
            self.rows.append(
                {"id": customer_id, **stored, **{name: c["new"] for name, c in fields.items()}}
            )
            self.fields.update(fields)
            self.changes.append((customer_id, row.source_row, json.dumps(fields)))

    def write(self, job: ImportJob, now: datetime) -> None:
        names = [name for name in CUSTOMER_FIELDS if name in self.fields]
        rows = [(final["id"], *(final[name] for name in names)) for final in self.rows]
        bulk.update_rows(User, fields=names, rows=rows)
        if self.changes:
            bulk.insert_rows(
                CustomerChange,
                fields=_CHANGE_FIELDS,
                rows=self.changes,
                shared={
                    "import_job": job.pk,
                    "source": CustomerChange.Source.IMPORT,
                    "changed_by": job.owner_id,
                    "changed_at": now,
                },
            )
        for row, refusal in self.not_written:
            ImportRowError.objects.create(
                job=job,
                row=row.source_row,
                position=row.position,
                field=refusal.field,
                code=refusal.code,
                message=refusal.message,
                at_run=True,
            )


class UpdateOutcome(StrEnum):
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    FAILED = "failed"  # the reason recorded


def update_one(job: ImportJob, row: StoredRow, now: datetime) -> UpdateOutcome:
    """Updates one customer in a savepoint."""
    try:
        with transaction.atomic():
            updates = Updates(job, [row])
            updates.write(job, now)
    except IntegrityError:
        customer_id = row.customer_id
        values = {name: new for name, _old, new in row.changes}
        user = User(**{name: values.get(name) for name in selectors.UNIQUE_FIELDS})
        _record_failure(job, row, user, exclude_id=customer_id)
        return UpdateOutcome.FAILED
    if updates.not_written:
        return UpdateOutcome.FAILED
    return UpdateOutcome.UNCHANGED if updates.unchanged else UpdateOutcome.UPDATED
