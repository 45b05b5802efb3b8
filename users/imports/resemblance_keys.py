"""The blocking keys of the near-duplicate check (users.imports.resemblance) and the query that
finds the stored customers holding them: each key an expression of users.models
(PHONE_WITHOUT_BLOCK, EMAIL_LOCAL_PART) behind an index of its own, computed alike here in
Python for the rows, and read through that index on SQLite and on Postgres
(tests/imports/test_resemblance_plans.py)."""

import functools
from collections.abc import Mapping

from django.db import connection
from django.db.models import Model

from users.models import EMAIL_LOCAL_PART, PHONE_WITHOUT_BLOCK, ImportStagedRow, Role, User

# The most customers and earlier rows a row is compared with through one key: a key that many
# share (a generic email like info@, a block of a company's numbers) tells nobody apart, and
# comparing every pair of them would grow with the square of the file.
BLOCK_LIMIT = 50


# A stored customer found by a key: the key's kind and value, then id, first name, last name,
# phone, email, company and mark.
Held = tuple[str, str, int, str, str, str, str | None, str, str | None]


def phone_keys(phone: str) -> tuple[str, str, str, str]:
    """The phone's four blocking keys, as PHONE_WITHOUT_BLOCK computes them: the phone without
    one of the blocks of 3, 2, 2 and 2 digits its last nine make. A one-digit slip (or two
    neighbouring digits swapped within a block) in the last nine digits leaves one equal."""
    return phone[-6:], phone[:-6] + phone[-4:], phone[:-4] + phone[-2:], phone[:-2]


def email_local_part(email: str | None) -> str | None:
    """What EMAIL_LOCAL_PART computes: the email before its (first) @."""
    if not email or "@" not in email:
        return None
    return email.split("@", 1)[0]


PHONE_KINDS = ("phone_but_block1", "phone_but_block2", "phone_but_block3", "phone_but_block4")


# The kinds of blocking key, with the expression of each (users.models, where their indexes
# are declared).
KEY_EXPRESSIONS = {
    **dict(zip(PHONE_KINDS, PHONE_WITHOUT_BLOCK, strict=True)),
    "local_part": EMAIL_LOCAL_PART,
}
_CANDIDATE_COLUMNS = (
    "id",
    "first_name",
    "last_name",
    "phone",
    "email",
    "company_name",
    "shipping_mark",
)


def _literal(value: object) -> str:
    """A constant of a key's expression (a length, the @, the empty text) written into the SQL,
    as the index's definition holds it: SQLite uses an expression index only for the same
    expression, and a bound parameter is not the same. Only the model's constants come here,
    never a row's value."""
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def key_sql(kind: str, model: type[Model] = User) -> str:
    """The SQL of a kind of blocking key over `model`'s table (the users', or the staging
    table's, which has the same phone and email columns), its constants written in."""
    return _key_sql(kind, model, connection.vendor)


@functools.lru_cache(maxsize=32)
def _key_sql(kind: str, model: type[Model], vendor: str) -> str:
    """key_sql for the database of this vendor (compiled once: it never changes)."""
    query = model._default_manager.all().query
    expression = KEY_EXPRESSIONS[kind].resolve_expression(query)
    compiled: tuple[str, list[object]] = query.get_compiler(connection=connection).compile(
        expression
    )
    sql, params = compiled
    return sql % tuple(_literal(param) for param in params)


# A query's parameters: keys, an array of keys (Postgres), the role.
_Params = list[str | list[str]]


def key_query(kind: str, keys: list[str]) -> tuple[str, _Params]:
    """The customers holding one of `keys` of this kind, each after the key it holds, and the
    parameters.

    On Postgres, one probe of the key's index per key (a LATERAL subquery per element of an
    array), at most BLOCK_LIMIT customers each: an IN list of 1,000 expressions is planned as a
    sequential scan of 100,000 customers (75 ms against a few by the indexes, EXPLAIN ANALYZE,
    Postgres 15), as users.customers.selectors._holding_query found for LOWER(email). SQLite's
    planner uses the key's index for IN (the test of the plans checks both)."""
    quote = connection.ops.quote_name
    table = quote(User._meta.db_table)
    columns = ", ".join(f"{table}.{quote(column)}" for column in _CANDIDATE_COLUMNS)
    role = f"{table}.{quote('user_role')}"
    # Only names and constants from the model, and placeholders: the keys go as parameters.
    if connection.vendor == "postgresql":
        sql = (
            "SELECT wanted.key, held.* FROM unnest(%s::text[]) AS wanted(key) "  # noqa: S608
            f"CROSS JOIN LATERAL (SELECT {columns} FROM {table} WHERE {role} = %s "
            f"AND {key_sql(kind)} = wanted.key LIMIT {BLOCK_LIMIT}) AS held"
        )
        return sql, [keys, Role.CUSTOMER.value]
    # SQLite, without statistics, would read every customer by the role's index instead of the
    # key's; the unary + (a no-op on text) keeps the role out of its choice of index.
    placeholders = ", ".join(["%s"] * len(keys))
    where = f"+{role} = %s AND {key_sql(kind)} IN ({placeholders})"
    sql = f"SELECT {key_sql(kind)}, {columns} FROM {table} WHERE {where}"  # noqa: S608
    return sql, [Role.CUSTOMER.value, *keys]


def customers_holding(wanted: Mapping[str, set[str]]) -> list[Held]:
    """The customers holding any of the keys wanted (by kind), each after the key it was found
    by: one query, a UNION ALL of one part per kind, so that each reads its own index (an OR
    of them reads the whole table on Postgres). A customer holding two keys comes twice."""
    kinds = [kind for kind, keys in wanted.items() if keys]
    parts: list[str] = []
    params: _Params = []
    for n, kind in enumerate(kinds):
        sql, part_params = key_query(kind, sorted(wanted[kind]))
        parts.append(f"SELECT {n}, part.* FROM ({sql}) AS part")  # noqa: S608
        params += part_params
    if not parts:
        return []
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        return [(kinds[n], *rest) for n, *rest in cursor.fetchall()]


def _names_alone(local_part: str) -> str:
    """SQL that holds when an email's local part is the row's names and nothing more
    (`kwame.mensah`), roughly (ASCII case only): such a part tells nobody apart, so rows are
    not paired by it (the rules in Python say the same, exactly)."""
    staged = connection.ops.quote_name(ImportStagedRow._meta.db_table)
    first, last = (
        f"LOWER({staged}.{connection.ops.quote_name(name)})" for name in ("first_name", "last_name")
    )
    bare = f"REPLACE(REPLACE(REPLACE(LOWER({local_part}), '.', ''), '_', ''), '-', '')"
    return f"{bare} IN ({first} || {last}, {last} || {first})"


def _earlier_rows_sql() -> str:
    """For the job's rows to create (parameters: the job and the outcome, once per kind of
    key), (kind, key, position) of each row holding a key that another holds too, by key and
    position. A key that
    more than BLOCK_LIMIT rows share pairs none of them: it tells nobody apart (a run of
    consecutive numbers, as a file of one company's lines holds, shares the phone without its
    last two digits by the hundred), and pairing its rows would grow with the square of the
    run. All in SQL: the keys are computed over the staging table and grouped there, never
    held in Python."""
    staged = connection.ops.quote_name(ImportStagedRow._meta.db_table)
    quote = connection.ops.quote_name
    position, job, outcome = (
        f"{staged}.{quote(name)}" for name in ("position", "job_id", "outcome")
    )
    parts = []
    for n, kind in enumerate(KEY_EXPRESSIONS):
        key = key_sql(kind, ImportStagedRow)
        where = f"{job} = %s AND {outcome} = %s"
        if kind == "local_part":
            where += f" AND {key} <> '' AND NOT ({_names_alone(key)})"
        parts.append(
            f"SELECT {position} AS position, {n} AS kind, {key} AS key "  # noqa: S608
            f"FROM {staged} WHERE {where}"
        )
    keyed = " UNION ALL ".join(parts)
    # Keys grouped by hashing, not by a window over them sorted (a sort of 45,000 texts took
    # 160 ms of 250, EXPLAIN ANALYZE, Postgres 15); the rows of a shared key come back sorted,
    # few, and are paired by the caller: a self-join of them was planned as a nested loop
    # (the staging table's statistics never know a fresh preview's rows).
    return (
        f"WITH keyed AS ({keyed}), "  # noqa: S608
        "shared AS (SELECT kind, key FROM keyed GROUP BY kind, key "
        f"HAVING COUNT(*) BETWEEN 2 AND {BLOCK_LIMIT}) "
        "SELECT keyed.kind, keyed.key, keyed.position FROM keyed JOIN shared "
        "ON keyed.kind = shared.kind AND keyed.key = shared.key ORDER BY 1, 2, 3"
    )


def earlier_rows_sharing_a_key(job_id: object, outcome: str) -> dict[int, list[int]]:
    """For each of the job's staged rows of `outcome` that shares a blocking key with an
    earlier such row, by position: the positions of those earlier rows, in file order. One
    query; what comes back is the rows of shared keys alone, a few for most files."""
    job_key = ImportStagedRow._meta.get_field("job").get_db_prep_value(job_id, connection)
    pairs: dict[int, set[int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(_earlier_rows_sql(), [job_key, outcome] * len(KEY_EXPRESSIONS))
        group: tuple[object, object] | None = None
        holders: list[int] = []
        for kind, key, position in cursor.fetchall():
            if (kind, key) != group:
                group, holders = (kind, key), []
            if holders:
                pairs.setdefault(position, set()).update(holders)
            holders.append(position)
    return {position: sorted(earlier) for position, earlier in pairs.items()}
