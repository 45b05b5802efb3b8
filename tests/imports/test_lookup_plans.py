"""The duplicate and holder lookups of an import use the unique indexes on a large table.

Postgres prices LOWER(email) at one operator's cost, so against 1,000 values `LOWER(email) IN
(...)` looked cheaper as a sequential scan than as 1,000 probes of the email index from about
30,000 customers on: 10-60 ms a query where the index takes 1. Each lookup here is run for
real on 100,000 customers and its plan, read back with EXPLAIN, must probe the index; so is
the preview's join of its staged rows with the customers (users.imports.clashes).
"""

import json
from uuid import uuid4

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.imports.helpers import customers_seeded
from users.customers import selectors
from users.imports import clashes
from users.models import ImportJob, User

STORED = 100_000
WANTED = 1_000


@pytest.fixture
def many_customers(db) -> None:
    """STORED customers, written by the database itself (seconds for the ORM would be
    minutes), and the planner's statistics of them, as after an import's ANALYZE."""
    if connection.vendor != "postgresql":
        pytest.skip("Postgres's query planner")
    customers_seeded(STORED, phone_sql="'+2332' || lpad(n::text, 8, '0')")


def plans_of(lookup) -> list[dict]:
    """The plan (EXPLAIN's JSON) of each query `lookup` makes, as it made it."""
    with CaptureQueriesContext(connection) as queries:
        lookup()
    plans = []
    with connection.cursor() as cursor:
        for query in queries.captured_queries:
            # The statement as it ran (psycopg2 interpolates the parameters client-side).
            cursor.execute("EXPLAIN (FORMAT JSON) " + query["sql"])
            plan = cursor.fetchone()[0]
            plans.append(plan[0]["Plan"] if isinstance(plan, list) else json.loads(plan)[0]["Plan"])
    assert plans, "the lookup made no query"
    return plans


def scans_of(plan: dict) -> list[tuple[str, str | None]]:
    """(node type, index name) of each scan of users_user in a plan."""
    found = []
    if plan.get("Relation Name") == "users_user":
        found.append((plan["Node Type"], plan.get("Index Name")))
    for child in plan.get("Plans", []):
        found += scans_of(child)
    return found


def indexes_used(lookup) -> set[str | None]:
    """The indexes the scans of users_user use, across the lookup's queries; a sequential
    scan (no index) shows as None."""
    used = set()
    for plan in plans_of(lookup):
        scans = scans_of(plan)
        assert scans, "a query of the lookup reads no users_user"
        used |= {index if "Index" in kind else None for kind, index in scans}
    return used


def by_field(used: set[str | None]) -> set[str | None]:
    """The unique fields whose indexes were used (None: a sequential scan). The phone has two:
    its unique index and the pattern index Django adds to a unique text column on Postgres;
    either answers equality."""
    fields = {"user_email_ci_unique": "email", "user_shipping_mark_ci_unique": "shipping_mark"}
    return {
        "phone" if index and index.startswith("users_user_phone_") else fields.get(index, index)
        for index in used
    }


THE_THREE = {"phone", "email", "shipping_mark"}


PHONES = [f"+2335{n:08d}" for n in range(WANTED)]
EMAILS = [f"new{n}@example.com" for n in range(WANTED)]
MARKS = [f"NEW{n}" for n in range(WANTED)]


def test_the_holders_of_a_rows_values_are_found_by_the_three_unique_indexes(many_customers):
    # given 100,000 customers and 1,000 rows' phones, emails and marks (the preview's chunk)
    # when the holders of those values are looked up
    used = indexes_used(
        lambda: selectors.holders_of(phones=PHONES, emails=EMAILS, shipping_marks=MARKS)
    )

    # then each field is read through its own unique index, and nothing scans the table
    assert by_field(used) == THE_THREE


def test_the_holders_but_one_user_are_found_by_the_unique_indexes(many_customers):
    # given 100,000 customers
    # when a customer's edit looks for other holders of its values
    used = indexes_used(
        lambda: selectors.holders_of(
            phones=PHONES[:1], emails=EMAILS[:1], shipping_marks=MARKS[:1], exclude_id=1
        )
    )

    # then
    assert by_field(used) == THE_THREE


@pytest.mark.parametrize(
    ("field", "keys"), [("phone", PHONES), ("email", EMAILS), ("shipping_mark", MARKS)]
)
def test_an_updates_rows_are_matched_by_the_match_fields_index(many_customers, field, keys):
    # given 100,000 customers
    # when 1,000 rows of an update are matched by one field
    used = indexes_used(lambda: selectors.holdings_of(field=field, keys=keys))

    # then by that field's unique index
    assert by_field(used) == {field}


def test_the_marks_an_import_would_generate_are_checked_by_the_marks_index(many_customers):
    # given 100,000 customers
    # when generated marks are checked against the stored ones
    used = indexes_used(lambda: selectors.shipping_marks_taken(marks=MARKS))

    # then
    assert by_field(used) == {"shipping_mark"}


def test_the_matched_customers_are_reread_by_the_primary_key(many_customers):
    # given 100,000 customers
    ids = list(range(1, STORED, STORED // WANTED))

    # when a batch of an update re-reads the customers it writes
    used = indexes_used(lambda: selectors.customer_fields_of(ids=ids))

    # then
    assert used == {"users_user_pkey"}


def test_an_imports_customers_are_found_by_the_job_and_row_index(many_customers):
    # given 100,000 customers
    # when an undo or a job's deletion looks for a job's customers
    used = indexes_used(lambda: list(User.objects.filter(import_job_id=uuid4()).values("id")))

    # then the unique (import_job, source_row) index serves it: the job needs no index of its own
    assert used == {"user_import_job_source_row_unique"}


@pytest.fixture
def staged_job(many_customers) -> ImportJob:
    """A preview of WANTED valid rows staged beside the STORED customers: half of them holding
    a stored customer's phone, email and mark, half new ones."""
    job = ImportJob.objects.create(owner=User.objects.get(phone="+233200000001"))
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO users_importstagedrow (job_id, position, source_row, outcome, valid, "
            "phone, email, shipping_mark, email_key, mark_key, given, raw) "
            "SELECT %s, n, n + 2, 'c', true, phone, email, mark, email, mark, '', '[]' "
            "FROM generate_series(0, %s) AS n, LATERAL (SELECT "
            "CASE WHEN n %% 2 = 0 THEN '+2332' || lpad((n + 1)::text, 8, '0') "
            "ELSE '+2335' || lpad(n::text, 8, '0') END AS phone, "
            "CASE WHEN n %% 2 = 0 THEN 'c' || (n + 1) ELSE 'new' || n END "
            "|| '@example.com' AS email, "
            "CASE WHEN n %% 2 = 0 THEN 'PM' || (n + 1) ELSE 'NEW' || n END AS mark) AS row",
            [job.pk, WANTED - 1],
        )
        cursor.execute("ANALYZE users_importstagedrow")
    return job


@pytest.mark.parametrize("anchor", ["phone", "email", "shipping_mark"])
def test_a_staged_previews_rows_are_joined_with_the_three_unique_indexes(staged_job, anchor):
    # given 100,000 customers and a preview of 1,000 staged rows
    # when the customers holding the rows' values are found by joining the staged rows (an
    # update reads its match key's holder with the row)
    used = indexes_used(lambda: clashes.stored_holders(staged_job.pk, anchor=anchor))

    # then each field is read through its own unique index, and nothing scans the table
    assert by_field(used) == THE_THREE


def test_the_join_finds_the_customers_the_staged_rows_name(staged_job):
    # given 100,000 customers and 1,000 staged rows, every other one holding a stored
    # customer's phone, email and mark
    # when the holders are found
    held, _ = clashes.stored_holders(staged_job.pk)

    # then those rows, and only those, are named, each by its three values
    assert sorted(held) == list(range(0, WANTED, 2))
    assert {tuple(name for name, _ in found) for found in held.values()} == {
        ("phone", "email", "shipping_mark")
    }
