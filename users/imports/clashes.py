"""Who holds a staged row's unique values (phone, email, shipping mark): the stored users, found
by joining the staging table with the users' unique indexes, and the other rows of the same
file, found by grouping the staged rows on the same keys. SQL only: the preview's Python reads
back just the rows these name (users.imports.classify).

On Postgres each staged key probes its unique index once (a LATERAL subquery with LIMIT 1, as
users.customers.selectors.holders_of does for a list of values): a plain join of the staged
rows with the users would be planned as a scan of the whole users table from some tens of
thousands of customers on (the planner prices LOWER(email) at one operator), which makes the
import slower as the customer base grows. SQLite's planner probes the indexes of a plain join
by itself."""

from typing import Any

from django.db import connection
from django.db.models import Field, Model

from users.customers import roles, rules, selectors
from users.imports.stored_rows import staged_table
from users.models import ImportStagedRow, User

# The staged key of each unique field, and how the users' unique index compares that field.
_KEYS = {
    "phone": ("phone", "{}"),
    "email": ("email_key", "LOWER({})"),
    "shipping_mark": ("mark_key", "UPPER({})"),
}
# What is read of a stored holder: its id, its customer fields and what import_refusal needs.
_HOLDER_COLUMNS = ("id", *rules.CUSTOMER_FIELDS, *roles.IMPORT_TARGET_FIELDS)
_FIELD_COUNT = len(rules.CUSTOMER_FIELDS)


def column(model: type[Model], name: str, alias: str = "") -> str:
    """A field's column, quoted for SQL (after `alias` and a dot, if given)."""
    field = model._meta.get_field(name)
    assert isinstance(field, Field)  # a concrete field, not a relation's other side
    quoted = connection.ops.quote_name(str(field.column))
    return f"{alias}.{quoted}" if alias else quoted


def _probe(field: str, key: str) -> str:
    """SQL for the id of the user holding `key` (a staged row's column) as `field`: one probe
    of the field's unique index. The column is named as the index names it, without a table
    (the innermost table is the users'), as SQLite needs to match it with an expression index."""
    users = connection.ops.quote_name(User._meta.db_table)
    held = _KEYS[field][1].format(column(User, field))
    if connection.vendor == "sqlite":
        # A text column compared with an expression lends it its affinity, and SQLite then
        # leaves the expression's index unused: unary + takes the affinity away.
        key = f"+{key}"
    return f"(SELECT {column(User, 'id')} FROM {users} WHERE {held} = {key} LIMIT 1)"  # noqa: S608


def _holders_sql(anchor: str) -> str:
    """For each valid staged row of a job (the first parameter), from one position to another (not
    included; the other two), holding a value a stored user holds: its position, the holder of its
    `anchor` field (the match key; the phone on create) with _HOLDER_COLUMNS (NULLs when nobody
    holds it), then the id of the holder of each unique field. A value the anchor's holder holds too
    is nobody else's (the indexes are unique), so it is answered without a probe: an update's rows,
    which mostly hold their customer's own values, probe one index each instead of three."""
    users = connection.ops.quote_name(User._meta.db_table)
    columns = ", ".join(column(User, name, "u") for name in _HOLDER_COLUMNS)
    anchored = _KEYS[anchor][1].format(column(User, anchor, "u"))
    anchor_key = column(ImportStagedRow, _KEYS[anchor][0], "s")
    holder_ids = []
    for field in selectors.UNIQUE_FIELDS:
        key = column(ImportStagedRow, _KEYS[field][0], "s")
        compared = _KEYS[field][1]
        holder_ids.append(
            f"CASE WHEN {key} IS NULL THEN NULL "
            f"WHEN {compared.format(column(User, field, 'm'))} = {key} THEN m.id "
            f"ELSE {_probe(field, key)} END"
        )
    if connection.vendor == "postgresql":
        # LATERAL ... LIMIT 1: one probe of the anchor's index a row, never a hash join over
        # the whole users table (see the module's docstring).
        anchor_join = (
            f"LEFT JOIN LATERAL (SELECT {columns} FROM {users} u "  # noqa: S608
            f"WHERE {anchored} = {anchor_key} LIMIT 1) m ON true"
        )
    else:
        # SQLite probes an expression index only for the expression as the index writes it
        # (LOWER("email"), no table before the column): the holder's id, then the holder.
        anchor_join = (
            f"LEFT JOIN {users} m ON {column(User, 'id', 'm')} = {_probe(anchor, anchor_key)}"
        )
    position = column(ImportStagedRow, "position", "s")
    held = ", ".join(column(User, name, "m") for name in _HOLDER_COLUMNS)
    ids = ", ".join(f"{sql} AS held_{n}" for n, sql in enumerate(holder_ids))
    # Only names from the models and placeholders: the values go as parameters.
    rows = (
        f"SELECT {position} AS position, {held}, {ids} FROM {staged_table()} s "  # noqa: S608
        f"{anchor_join} WHERE {column(ImportStagedRow, 'job', 's')} = %s "
        f"AND {position} >= %s AND {position} < %s "
        f"AND {column(ImportStagedRow, 'valid', 's')}"
    )
    # MATERIALIZED: each row's probes run once, not again for the filter.
    return (
        f"WITH found AS MATERIALIZED ({rows}) SELECT * FROM found "  # noqa: S608
        "WHERE held_0 IS NOT NULL OR held_1 IS NOT NULL OR held_2 IS NOT NULL"
    )


HeldBy = dict[int, list[tuple[str, selectors.Holder]]]
# Past any staged row's position (an int column): stored_holders' end when none is given.
_END = 2**31 - 1


def _holder(user_id: int, fields: dict[str, Any]) -> selectors.Holder:
    return selectors.Holder(
        user_id,
        fields["phone"],
        fields["email"],
        fields["shipping_mark"],
        fields["first_name"],
        fields["last_name"],
    )


def stored_holders(
    job_id: object, *, anchor: str = "phone", start: int = 0, end: int | None = None
) -> tuple[HeldBy, dict[int, selectors.Stored]]:
    """For each valid staged row of the job (from position `start` to `end`, not included) holding a
    value that a stored user holds, by its position: (field, holder) in UNIQUE_FIELDS order; and
    each of those users as an import sees it (its fields and what roles.import_refusal decides by),
    by id. `anchor` is the field whose holder is read with the row (an update's match key): one
    query, and one more for the other holders, if any."""
    job_key = ImportStagedRow._meta.get_field("job").get_db_prep_value(job_id, connection)
    with connection.cursor() as cursor:
        cursor.execute(_holders_sql(anchor), [job_key, start, _END if end is None else end])
        found = cursor.fetchall()
    accounts: dict[int, selectors.Stored] = {}
    for row in found:
        user_id = row[1]
        if user_id is not None and user_id not in accounts:
            fields = dict(zip(rules.CUSTOMER_FIELDS, row[2 : 2 + _FIELD_COUNT], strict=True))
            accounts[user_id] = selectors.Stored(
                fields, roles.ImportTarget(*row[2 + _FIELD_COUNT : 1 + len(_HOLDER_COLUMNS)])
            )
    others = {user_id for row in found for user_id in row[-3:]} - set(accounts) - {None}
    if others:
        accounts.update(selectors.customer_fields_of(ids=others))
    holders = {user_id: _holder(user_id, stored.fields) for user_id, stored in accounts.items()}
    held: HeldBy = {}
    for row in found:
        held[row[0]] = [
            (field, holders[user_id])
            for field, user_id in zip(selectors.UNIQUE_FIELDS, row[-3:], strict=True)
            if user_id is not None
        ]
    return held, accounts


def shared_in_file(job_id: object) -> set[int]:
    """The positions of the job's valid staged rows that give a unique value another valid row
    of the file gives too: the only rows that can be batch duplicates."""
    table = staged_table()
    job, valid = (column(ImportStagedRow, name, "s") for name in ("job", "valid"))
    parts, params = [], []
    for field in selectors.UNIQUE_FIELDS:
        key = column(ImportStagedRow, _KEYS[field][0], "s")
        given = column(ImportStagedRow, _KEYS[field][0], "g")
        parts.append(
            f"{key} IN (SELECT {given} FROM {table} g "  # noqa: S608
            f"WHERE {column(ImportStagedRow, 'job', 'g')} = %s "
            f"AND {column(ImportStagedRow, 'valid', 'g')} AND {given} IS NOT NULL "
            f"GROUP BY {given} HAVING COUNT(*) > 1)"
        )
        params.append(job_id)
    position = column(ImportStagedRow, "position", "s")
    sql = (
        f"SELECT {position} FROM {table} s WHERE {job} = %s AND {valid} "  # noqa: S608
        f"AND ({' OR '.join(parts)})"
    )
    job_key = ImportStagedRow._meta.get_field("job").get_db_prep_value(job_id, connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, [job_key] + [job_key] * len(params))
        return {row[0] for row in cursor.fetchall()}
