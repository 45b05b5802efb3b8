"""The near-duplicate finder reads its candidate customers through the blocking keys' indexes,
never by reading the users table: on Postgres its query runs for real against 100,000 customers
and the plan EXPLAIN gives for it must probe each key's index and scan no user; on SQLite,
whose planner has no statistics to weigh, the plan of each part must search by its key's
index."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.imports.helpers import customers_seeded, staged_job
from users.imports import resemblance, resemblance_keys

STORED = 100_000
ROWS = resemblance.CHUNK_ROWS
# Multiplying by a number prime to 10^7 spreads the seeded phones over the operator's range
# without repeating one, as real numbers are spread, instead of one run of neighbours.
SPREAD = 7919
# Each kind of blocking key and the index that serves it (users.models).
INDEX_OF_KIND = {
    "phone_but_block1": "user_phone_but_block1_idx",
    "phone_but_block2": "user_phone_but_block2_idx",
    "phone_but_block3": "user_phone_but_block3_idx",
    "phone_but_block4": "user_phone_but_block4_idx",
    "local_part": "user_email_local_part_idx",
}


@pytest.fixture
def spread_customers(db) -> None:
    """STORED customers of spread phones and distinct emails, written by the database itself,
    and the planner's statistics of them (the expression indexes' included)."""
    if connection.vendor != "postgresql":
        pytest.skip("Postgres's query planner")
    customers_seeded(
        STORED,
        phone_sql="'+23324' || lpad(((n * %s) %% 10000000)::text, 7, '0')",
        phone_params=[SPREAD],
    )


def nodes_of(plan: dict) -> list[dict]:
    """Every node of a plan (EXPLAIN's JSON), the plan's own first."""
    found = [plan]
    for child in plan.get("Plans", []):
        found += nodes_of(child)
    return found


def test_the_candidates_of_a_chunk_are_read_through_the_key_indexes(spread_customers):
    # given 100,000 customers and a chunk of rows of new phones and emails, staged
    job = staged_job(
        {
            "source_row": n + 2,
            "first_name": "Kofi",
            "last_name": "Boateng",
            "phone": f"+23355{n * SPREAD % 10_000_000:07d}",
            "email": f"new{n}@example.org",
        }
        for n in range(ROWS)
    )

    # when the finder looks for their candidates
    with CaptureQueriesContext(connection) as queries:
        resemblance.near_duplicates(job.pk)

    # then its query of the customers probes the five indexes, and nothing reads the whole
    # users table
    [query] = [q for q in queries.captured_queries if "LATERAL" in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + query["sql"])
        plan = cursor.fetchone()[0]
    nodes = nodes_of((plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"])
    users_indexes = {
        node["Index Name"]
        for node in nodes
        if "Index Name" in node and not node["Index Name"].startswith("users_importstagedrow")
    }
    assert users_indexes == set(INDEX_OF_KIND.values())
    assert not [
        node
        for node in nodes
        if node["Node Type"] == "Seq Scan" and node.get("Relation Name") == "users_user"
    ]


@pytest.mark.parametrize(("kind", "index"), INDEX_OF_KIND.items())
def test_sqlite_searches_each_key_by_its_index(db, kind, index):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's query planner")
    # given the finder's query of the customers for one kind of key
    sql = resemblance_keys._customer_part(kind)

    # when SQLite plans it
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, ["CUSTOMER", "0" * 32, "c"])
        steps = [step[-1] for step in cursor.fetchall()]

    # then it searches users_user by that key's index, once for each staged row
    assert f"SEARCH users_user USING INDEX {index} (<expr>=?)" in steps
    assert not [step for step in steps if step.startswith("SCAN users_user")]
