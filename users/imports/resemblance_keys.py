"""The blocking keys of the near-duplicate check (users.imports.resemblance) and the two queries
that find candidates by them, in SQL over the job's staged rows: the stored customers holding a
key of a row to create, each key an expression of users.models (PHONE_WITHOUT_BLOCK,
EMAIL_LOCAL_PART) read through an index of its own on SQLite and on Postgres
(tests/imports/test_resemblance_plans.py); and the earlier rows to create sharing a key. The
rows' keys are computed by the database from the staging table's columns, never in Python.
"""

import functools
from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

from django.db import connection
from django.db.models import Model

from users.models import EMAIL_LOCAL_PART, PHONE_WITHOUT_BLOCK, ImportStagedRow, Role, User

# The most customers a row is compared with through one key, and the most rows of a file that
# may share a key and be paired: a key that many share (a generic email like info@, a block of
# a company's numbers) tells nobody apart, and comparing every pair of them would grow with the
# square of the file.
BLOCK_LIMIT = 50
# Positions named in one query by the finders of some rows (a few parameters each).
CHUNK_POSITIONS = 500


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


def _job_key(job_id: UUID) -> Any:
    """The job's id as the staging table's column takes it."""
    return ImportStagedRow._meta.get_field("job").get_db_prep_value(job_id, connection)


def _staged(name: str) -> str:
    """A column of the staging table, quoted, after the table's name."""
    quote = connection.ops.quote_name
    return f"{quote(ImportStagedRow._meta.db_table)}.{quote(name)}"


def _placeholders(count: int) -> str:
    return ", ".join(["%s"] * count)


def _rows_where(kind: str, *, outcomes: int = 1, positions: int = 0) -> str:
    """The job's staged rows of `outcomes` outcomes (parameters: the job, the outcomes, then
    `positions` positions, if any) holding a key of this kind: an email's local part only when
    it says more than the names."""
    outcome = _staged("outcome")
    where = f"{_staged('job_id')} = %s AND " + (
        f"{outcome} = %s" if outcomes == 1 else f"{outcome} IN ({_placeholders(outcomes)})"
    )
    if positions:
        where += f" AND {_staged('position')} IN ({_placeholders(positions)})"
    if kind == "local_part":
        key = key_sql(kind, ImportStagedRow)
        where += f" AND {key} <> '' AND NOT ({_names_alone(key)})"
    return where


# The columns _may_resemble compares, on both tables.
_NAMES = ("first_name", "last_name", "company_name")


def _letters_only(column: str) -> str:
    """SQL that holds when a text holds nothing but ASCII letters (the empty text included)."""
    if connection.vendor == "postgresql":
        return f"{column} !~ '[^A-Za-z]'"
    return f"{column} NOT GLOB '*[^A-Za-z]*'"


def _may_resemble() -> str:
    """SQL over a customer (users) and a staged row that holds whenever a rule of
    users.imports.resemblance may: every rule but the company's asks for the same names or the
    names swapped, as folded there, and for names of ASCII letters alone the fold is the lower
    case; names holding anything else, and rows and customers that both name a company, go to
    the rules as they are. Without it a key shared by many customers (numbers given out in a
    run) brought every one of them back to be compared: 1,450,000 pairs for a file of 100,000
    rows beside 100,000 such customers, 36 s of its 47 s preview (cProfile); the rules found the
    same rows with it."""
    quote = connection.ops.quote_name
    users = quote(User._meta.db_table)
    first, last, company = (f"{users}.{quote(name)}" for name in _NAMES)
    row_first, row_last, row_company = (f"COALESCE({_staged(name)}, '')" for name in _NAMES)
    same = f"LOWER({first}) = LOWER({row_first}) AND LOWER({last}) = LOWER({row_last})"
    swapped = f"LOWER({first}) = LOWER({row_last}) AND LOWER({last}) = LOWER({row_first})"
    plain = " AND ".join(_letters_only(name) for name in (first, last, row_first, row_last))
    companies = f"{company} <> '' AND {row_company} <> ''"
    return f"(({same}) OR ({swapped}) OR NOT ({plain}) OR ({companies}))"


def _customer_part(kind: str, *, outcomes: int = 1, positions: int = 0) -> str:
    """(position, customer id) of each customer holding the key of this kind of a staged row
    (parameters: the role, then those of _rows_where).

    On Postgres, one probe of the key's index per row (a LATERAL subquery), at most
    BLOCK_LIMIT customers each: a join was planned as a scan of the 100,000 customers (as
    users.imports.clashes found for the unique indexes), and an IN list of keys too. SQLite
    probes the key's index of a plain join by itself; the unary + (a no-op on text) keeps the
    role, which it has no statistics to weigh, out of its choice of index."""
    quote = connection.ops.quote_name
    users = quote(User._meta.db_table)
    customer_id = f"{users}.{quote('id')}"
    role = f"{users}.{quote('user_role')}"
    held = f"{key_sql(kind)} = {key_sql(kind, ImportStagedRow)} AND {_may_resemble()}"
    staged = quote(ImportStagedRow._meta.db_table)
    position = _staged("position")
    where = _rows_where(kind, outcomes=outcomes, positions=positions)
    if connection.vendor == "postgresql":
        return (
            f"SELECT {position}, held.id FROM {staged} CROSS JOIN LATERAL "  # noqa: S608
            f"(SELECT {customer_id} AS id FROM {users} WHERE {role} = %s AND {held} "
            f"LIMIT {BLOCK_LIMIT}) AS held WHERE {where}"
        )
    return (
        f"SELECT {position}, {customer_id} FROM {staged} JOIN {users} "  # noqa: S608
        f"ON +{role} = %s AND {held} WHERE {where}"
    )


def customers_resembling(
    job_id: UUID, outcomes: Sequence[str], positions: Iterable[int] | None = None
) -> dict[int, list[int]]:
    """For each of the job's staged rows of these outcomes (at these positions, if given) whose
    blocking keys a stored customer holds, by position: those customers' ids (a customer
    holding two of its keys once). One query (a chunk of CHUNK_POSITIONS positions each), a
    UNION of one part per kind of key, each reading its own index (an OR of them reads the
    whole table on Postgres); what comes back is the candidates alone, a few for most rows'
    hundred."""
    job_key = _job_key(job_id)
    chunks: list[list[int]] = [[]]
    if positions is not None:
        wanted = sorted(set(positions))
        chunks = [wanted[n : n + CHUNK_POSITIONS] for n in range(0, len(wanted), CHUNK_POSITIONS)]
    found: dict[int, list[int]] = {}
    for chunk in chunks:
        sql = " UNION ".join(
            _customer_part(kind, outcomes=len(outcomes), positions=len(chunk))
            for kind in KEY_EXPRESSIONS
        )
        params = [Role.CUSTOMER.value, job_key, *outcomes, *chunk] * len(KEY_EXPRESSIONS)
        with connection.cursor() as cursor:
            cursor.execute(f"{sql} ORDER BY 1, 2", params)
            for position, customer_id in cursor.fetchall():
                found.setdefault(position, []).append(customer_id)
    return found


def _names_alone(local_part: str) -> str:
    """SQL that holds when an email's local part is the row's names and nothing more
    (`kwame.mensah`), roughly (ASCII case only): such a part tells nobody apart, so rows are
    not paired by it (the rules in Python say the same, exactly)."""
    first, last = (f"LOWER({_staged(name)})" for name in ("first_name", "last_name"))
    bare = f"REPLACE(REPLACE(REPLACE(LOWER({local_part}), '.', ''), '_', ''), '-', '')"
    return f"{bare} IN ({first} || {last}, {last} || {first})"


def _earlier_rows_sql() -> str:
    """For the job's rows to create (parameters: the job and the outcome, once per kind of
    key), (kind, key, position) of each row holding a key that another holds too, by key and
    position. A key that more than BLOCK_LIMIT rows share pairs none of them: it tells nobody
    apart (a run of consecutive numbers, as a file of one company's lines holds, shares the
    phone without its last two digits by the hundred), and pairing its rows would grow with the
    square of the run. The keys are computed over the staging table and grouped there, never
    held in Python."""
    staged = connection.ops.quote_name(ImportStagedRow._meta.db_table)
    parts = [
        f"SELECT {_staged('position')} AS position, {n} AS kind, "  # noqa: S608
        f"{key_sql(kind, ImportStagedRow)} AS key FROM {staged} WHERE {_rows_where(kind)}"
        for n, kind in enumerate(KEY_EXPRESSIONS)
    ]
    keyed = " UNION ALL ".join(parts)
    # Keys grouped by hashing, not by a window over them sorted (a sort of 45,000 texts took
    # 160 ms of 250, EXPLAIN ANALYZE, Postgres 15); the rows of a shared key come back sorted,
    # few, and are paired by the caller: a self-join of them was planned as a nested loop
    # (the staging table's statistics never know a fresh preview's rows).
    return (
        f"WITH keyed AS ({keyed}), "  # noqa: S608
        "shared AS (SELECT kind, key FROM keyed GROUP BY kind, key "
        f"HAVING COUNT(*) BETWEEN 2 AND {BLOCK_LIMIT}) "
        f"SELECT keyed.kind, keyed.key, keyed.position, {_sieve()} "
        f"FROM keyed JOIN shared ON keyed.kind = shared.kind AND keyed.key = shared.key "
        f"JOIN {staged} ON {_staged('job_id')} = %s AND {_staged('position')} = keyed.position "
        "ORDER BY 1, 2, 3"
    )


def earlier_rows_sharing_a_key(job_id: UUID, outcome: str) -> dict[int, list[int]]:
    """For each of the job's staged rows of `outcome` that shares a blocking key with an
    earlier such row, by position: the positions of those earlier rows, in file order. One
    query; what comes back is the rows of shared keys alone, a few for most files."""
    job_key = _job_key(job_id)
    pairs: dict[int, set[int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(_earlier_rows_sql(), [job_key, outcome] * len(KEY_EXPRESSIONS) + [job_key])
        group: tuple[object, object] | None = None
        holders: list[tuple[int, str, bool, bool]] = []
        for kind, key, *holder in cursor.fetchall():
            if (kind, key) != group:
                group, holders = (kind, key), []
            earlier = [other[0] for other in holders if _may_pair(holder, other)]
            if earlier:
                pairs.setdefault(holder[0], set()).update(earlier)
            holders.append(holder)
    return {position: sorted(earlier) for position, earlier in pairs.items()}


def _may_pair(row: Sequence[Any], other: Sequence[Any]) -> bool:
    """_may_resemble's test between two staged rows, each as (position, names, loose, firm)
    as _sieve gives them."""
    _, names, loose, firm = row
    _, other_names, other_loose, other_firm = other
    return bool(names == other_names or loose or other_loose or (firm and other_firm))


def _sieve() -> str:
    """What _may_pair reads of a staged row beside its key: `names`, its two names in lower
    case, the lesser first (a row and one with its names swapped have the same); `loose`, when
    a name holds more than ASCII letters (the rules fold it: it is compared with every row of
    its keys); `firm`, when it names a company."""
    first, last = (f"LOWER(COALESCE({_staged(name)}, ''))" for name in ("first_name", "last_name"))
    names = (
        f"CASE WHEN {first} < {last} THEN {first} || ' ' || {last} "
        f"ELSE {last} || ' ' || {first} END"
    )
    plain = " AND ".join(
        _letters_only(f"COALESCE({_staged(name)}, '')") for name in ("first_name", "last_name")
    )
    firm = f"COALESCE({_staged('company_name')}, '') <> ''"
    return (
        f"{names} AS names, CASE WHEN {plain} THEN 0 ELSE 1 END AS loose, "
        f"CASE WHEN {firm} THEN 1 ELSE 0 END AS firm"
    )


# A blocking key of a row: its kind (the index of the kind in KEY_EXPRESSIONS) and its value.
Key = tuple[int, str]


def _row_key_sql(kind: str) -> str:
    """The blocking key of this kind of a staged row, NULL where it holds none: an email's local
    part that is only the names counts as none, as _rows_where has it."""
    key = key_sql(kind, ImportStagedRow)
    if kind == "local_part":
        return f"CASE WHEN {key} <> '' AND NOT ({_names_alone(key)}) THEN {key} END"
    return key


def _keys_selected() -> str:
    """The blocking keys of a staged row, one column per kind, in KEY_EXPRESSIONS's order."""
    return ", ".join(_row_key_sql(kind) for kind in KEY_EXPRESSIONS)


def row_keys(job_id: UUID, positions: Iterable[int]) -> dict[int, set[Key]]:
    """The blocking keys of the job's staged rows at these positions, computed by the
    database, by position (a row without a phone holds none)."""
    wanted = sorted(set(positions))
    staged = connection.ops.quote_name(ImportStagedRow._meta.db_table)
    found: dict[int, set[Key]] = {}
    for start in range(0, len(wanted), CHUNK_POSITIONS):
        chunk = wanted[start : start + CHUNK_POSITIONS]
        sql = (
            f"SELECT {_staged('position')}, {_keys_selected()} FROM {staged} "  # noqa: S608
            f"WHERE {_staged('job_id')} = %s AND {_staged('position')} IN "
            f"({_placeholders(len(chunk))})"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [_job_key(job_id), *chunk])
            for position, *keys in cursor.fetchall():
                found[position] = {(n, key) for n, key in enumerate(keys) if key}
    return found


# Keys looked up in one scan of a job's rows (their values are parameters).
CHUNK_KEYS = 400


def _like(text: str) -> str:
    """Text matched as itself in a LIKE pattern (ESCAPE '\\')."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _patterns(keys: Sequence[Key]) -> list[tuple[str, str]]:
    """(column, LIKE pattern) that each of these keys' holders match, with others: a phone
    without one of its blocks (PHONE_WITHOUT_BLOCK: the last 6 digits; the rest around the 2
    before the last 4, the 2 before the last 2, the last 2) is the phone with those characters
    wild; an email's local part, the email before its @. A rows' pass tests these on the plain
    columns in a third of the time the expressions take (EXPLAIN ANALYZE, 100,000 staged rows:
    26 ms against 69 ms for the five keys, 123 ms with the test of the names), and the keys the
    rows found hold are compared exactly after."""
    patterns = []
    for kind, key in keys:
        if kind == 0:
            patterns.append(("phone", "%" + _like(key)))
        elif kind in (1, 2):
            kept = 4 if kind == 1 else 2
            patterns.append(("phone", _like(key[:-kept]) + "__" + _like(key[-kept:])))
        elif kind == 3:
            patterns.append(("phone", _like(key) + "__"))
        else:
            patterns.append(("email", _like(key) + "@%"))
    return patterns


def rows_holding(
    job_id: UUID, keys: Iterable[Key], outcomes: Sequence[str]
) -> dict[Key, list[int]]:
    """The positions of the job's staged rows of these outcomes holding each of these blocking
    keys, in file order: one pass over the job's rows (CHUNK_KEYS keys at a time) by LIKE
    patterns of their columns (_patterns), then the keys of the rows found computed by the
    database and compared. For the few rows a change of the preview moves
    (users.imports.rechecks): the rows sharing their keys, to compare them with, or to compare
    again."""
    wanted = sorted(set(keys))
    looked_up = set(wanted)
    staged = connection.ops.quote_name(ImportStagedRow._meta.db_table)
    found: dict[Key, set[int]] = {}
    for start in range(0, len(wanted), CHUNK_KEYS):
        chunk = wanted[start : start + CHUNK_KEYS]
        held = " OR ".join(
            f"{_staged(column)} LIKE %s ESCAPE '\\'" for column, _ in _patterns(chunk)
        )
        sql = (
            f"SELECT {_staged('position')}, {_keys_selected()} FROM {staged} "  # noqa: S608
            f"WHERE {_staged('job_id')} = %s AND {_staged('outcome')} IN "
            f"({_placeholders(len(outcomes))}) AND ({held})"
        )
        params: list[Any] = [_job_key(job_id), *outcomes]
        params += [pattern for _, pattern in _patterns(chunk)]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            for position, *held_keys in cursor.fetchall():
                for kind, key in enumerate(held_keys):
                    if key and (kind, key) in looked_up:
                        found.setdefault((kind, key), set()).add(position)
    return {key: sorted(positions) for key, positions in found.items()}
