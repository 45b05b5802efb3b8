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

from collections.abc import Iterator
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
_FIELD_ORDER = {field: index for index, field in enumerate(selectors.UNIQUE_FIELDS)}


def column(model: type[Model], name: str, alias: str = "") -> str:
    """A field's column, quoted for SQL (after `alias` and a dot, if given)."""
    field = model._meta.get_field(name)
    assert isinstance(field, Field)  # a concrete field, not a relation's other side
    quoted = connection.ops.quote_name(str(field.column))
    return f"{alias}.{quoted}" if alias else quoted


def _holders_sql(field: str) -> str:
    """The (position, holder's columns) of each valid staged row of a job (its one parameter)
    whose `field` a stored user holds."""
    key_name, compared = _KEYS[field]
    key = column(ImportStagedRow, key_name, "s")
    held = compared.format(column(User, field, "u"))
    columns = ", ".join(column(User, name, "u") for name in _HOLDER_COLUMNS)
    users = connection.ops.quote_name(User._meta.db_table)
    where = (
        f"WHERE {column(ImportStagedRow, 'job', 's')} = %s "
        f"AND {column(ImportStagedRow, 'valid', 's')} AND {key} IS NOT NULL"
    )
    position = column(ImportStagedRow, "position", "s")
    tag = f"'{field}'"
    # Only names from the models and placeholders: the values go as parameters.
    if connection.vendor == "postgresql":
        return (
            f"SELECT {position}, {tag}, h.* FROM {staged_table()} s CROSS JOIN LATERAL "  # noqa: S608
            f"(SELECT {columns} FROM {users} u WHERE {held} = {key} LIMIT 1) h {where}"
        )
    return (
        f"SELECT {position}, {tag}, {columns} FROM {staged_table()} s "  # noqa: S608
        f"JOIN {users} u ON {held} = {key} {where}"
    )


def _holder_rows(job_id: Any) -> Iterator[tuple]:
    """(position, field, *_HOLDER_COLUMNS) for each unique value of a valid staged row that a
    stored user holds: one query, a part for each field."""
    sql = " UNION ALL ".join(_holders_sql(field) for field in selectors.UNIQUE_FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(sql, [job_id] * len(selectors.UNIQUE_FIELDS))
        yield from cursor.fetchall()


HeldBy = dict[int, list[tuple[str, selectors.Holder]]]


def stored_holders(job_id: object) -> tuple[HeldBy, dict[int, selectors.Stored]]:
    """For each valid staged row of the job holding a value that a stored user holds, by its
    position: (field, holder) in UNIQUE_FIELDS order; and each of those users as an import
    sees it (its fields and what roles.import_refusal decides by), by id."""
    held: HeldBy = {}
    accounts: dict[int, selectors.Stored] = {}
    job_key = ImportStagedRow._meta.get_field("job").get_db_prep_value(job_id, connection)
    for row in _holder_rows(job_key):
        position, field, user_id = row[0], row[1], row[2]
        values = row[3 : 3 + _FIELD_COUNT]
        fields = dict(zip(rules.CUSTOMER_FIELDS, values, strict=True))
        if user_id not in accounts:
            target = roles.ImportTarget(*row[3 + _FIELD_COUNT :])
            accounts[user_id] = selectors.Stored(fields, target)
        holder = selectors.Holder(
            user_id,
            fields["phone"],
            fields["email"],
            fields["shipping_mark"],
            fields["first_name"],
            fields["last_name"],
        )
        held.setdefault(position, []).append((field, holder))
    for found in held.values():
        if len(found) > 1:
            found.sort(key=lambda item: _FIELD_ORDER[item[0]])
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
