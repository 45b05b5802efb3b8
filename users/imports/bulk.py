"""Many rows into one table in one statement, without model instances: COPY on Postgres, one
prepared INSERT run for every row elsewhere (SQLite).

For 100,000 customers bulk_create spent 2.6 s preparing values and 1.8 s building instances;
here the values that differ between rows are passed as they are stored (text, numbers, None),
and those every row shares are prepared once, by the model's own fields. The database checks
every constraint as on INSERT and refuses the whole statement (IntegrityError) if one row
breaks one. Runs in the caller's transaction."""

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from io import StringIO
from typing import Any, cast

from django.db import connection, transaction
from django.db.models import Field, Model
from django.db.models.options import Options

# Text format of COPY: these four characters are written as escapes, and NULL as \N.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _field(meta: Options[Any], name: str) -> Field[Any, Any]:
    """The field `name` of a model: here always one of its columns, not the other side of a
    relation (which get_field may also answer)."""
    return cast("Field[Any, Any]", meta.get_field(name))


def _copy_text(value: object) -> str:
    if value is None:
        return "\\N"
    if hasattr(value, "adapted") and hasattr(value, "dumps"):
        # A JSON field's value as its field prepares it for psycopg2 (an SQL literal adapter,
        # whose str() is quoted SQL): COPY wants the JSON text itself.
        dumped: str = value.dumps(value.adapted)  # psycopg2's Json.dumps: the JSON text
        return dumped.translate(_COPY_ESCAPES)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value).translate(_COPY_ESCAPES)


def _copy_line(row: Sequence[Any]) -> str:
    line = "\t".join(["\\N" if value is None else str(value) for value in row])
    # Values are almost never anything COPY must escape: join them as they are (a ninth of the
    # time), unless the line shows one that is.
    escapes = line.count("\\") != list(row).count(None) or "\n" in line or "\r" in line
    if escapes or line.count("\t") != len(row) - 1:
        return "\t".join(map(_copy_text, row))
    return line


def insert_rows(
    model: type[Model],
    *,
    fields: Sequence[str],
    rows: Iterable[Sequence[Any]],
    shared: Mapping[str, object],
) -> None:
    """Inserts `rows` (values in `fields` order, as stored) into `model`'s table, each with the
    `shared` values (model values, prepared here by their fields)."""
    meta = model._meta
    row_fields = [_field(meta, name) for name in fields]
    shared_fields = [_field(meta, name) for name in shared]
    shared_values = [
        field.get_db_prep_save(shared[field.name], connection) for field in shared_fields
    ]
    quote = connection.ops.quote_name
    columns = [quote(str(field.column)) for field in (*row_fields, *shared_fields)]
    table = quote(meta.db_table)
    if connection.vendor == "postgresql":
        shared_text = "".join("\t" + _copy_text(value) for value in shared_values)
        lines = StringIO()
        for row in rows:
            lines.write(_copy_line(row) + shared_text + "\n")
        lines.seek(0)
        with connection.cursor() as cursor, connection.wrap_database_errors:
            # psycopg2's copy_expert is not wrapped by Django: wrap_database_errors turns its
            # errors into Django's (IntegrityError) as execute() would.
            cursor.cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", lines)
        return
    placeholders = ", ".join(["%s"] * len(columns))
    statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.executemany(statement, [(*row, *shared_values) for row in rows])


_TEXT_TYPES = frozenset({"CharField", "TextField", "EmailField"})


def typed(value: str, field: Field[Any, Any]) -> str:
    """A value (SQL) as `field`'s type: Postgres takes a column of NULLs, or a parameter in
    a SELECT list, for text. Text stays text, so that a value too long for its column is
    refused rather than cut, as a CAST to varchar(n) would."""
    if connection.vendor != "postgresql" or field.get_internal_type() in _TEXT_TYPES:
        return value  # SQLite stores a value as it comes, and CAST would change it
    return f"CAST({value} AS {field.db_type(connection)})"


# Rows from which update_rows sends them by COPY to a temporary table rather than as a VALUES
# list. Measured on Postgres, a preview's 10,000 verdicts: 0.27 s against 0.35 s, most of
# the difference the 40,000 parameters psycopg2 quotes into one statement; below some hundreds
# of rows the temporary table's own cost (created and dropped) is not repaid.
COPY_FROM_ROWS = 500
_UPDATED = "bulk_update_rows"


def _update_copied(
    table: str,
    key_field: Field[Any, Any],
    value_fields: list[Field[Any, Any]],
    rows: list[Sequence[Any]],
    scoped: str,
    params: list[Any],
) -> None:
    """Postgres: `rows` COPYed to a temporary table, then one UPDATE ... FROM it (`scoped`: the
    scope's conditions, `params` their values), the table dropped. Text goes as text: a value
    too long for its column is refused by the UPDATE, as from VALUES."""
    quote = connection.ops.quote_name
    columns = [
        f"{quote(str(field.column))} "
        + ("text" if field.get_internal_type() in _TEXT_TYPES else str(field.db_type(connection)))
        for field in (key_field, *value_fields)
    ]
    pk = quote(str(key_field.column))
    assignments = ", ".join(
        f"{quote(str(f.column))} = v.{quote(str(f.column))}" for f in value_fields
    )
    lines = StringIO("".join(_copy_line(row) + "\n" for row in rows))
    with (
        transaction.atomic(savepoint=False),
        connection.cursor() as cursor,
        connection.wrap_database_errors,
    ):
        cursor.execute(f"CREATE TEMPORARY TABLE {_UPDATED} ({', '.join(columns)})")
        cursor.cursor.copy_expert(f"COPY {_UPDATED} FROM STDIN", lines)
        cursor.execute(
            f"UPDATE {table} SET {assignments} FROM {_UPDATED} v "  # noqa: S608
            f"WHERE {table}.{pk} = v.{pk}{scoped}",
            params,
        )
        cursor.execute(f"DROP TABLE {_UPDATED}")


def update_rows(
    model: type[Model],
    *,
    fields: Sequence[str],
    rows: Iterable[Sequence[Any]],
    key: str | None = None,
    scope: Mapping[str, object] | None = None,
) -> None:
    """Sets `fields` of many rows of `model`'s table in one statement: each row is (its `key`,
    the primary key unless named, *values in `fields` order, as stored), among the rows
    matching `scope` (field -> value). On Postgres one UPDATE ... FROM (VALUES ...), or from a
    temporary table the rows are COPYed to (COPY_FROM_ROWS or more); on SQLite one prepared
    UPDATE run for every row. Runs in the caller's transaction; the database checks every
    constraint (IntegrityError if one row breaks one)."""
    rows = list(rows)
    if not rows:
        return
    meta = model._meta
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    key_field = meta.pk if key is None else _field(meta, key)
    pk = quote(str(key_field.column))
    value_fields = [_field(meta, name) for name in fields]
    columns = [quote(str(field.column)) for field in value_fields]
    scoped = [(quote(str(_field(meta, n).column)), value) for n, value in (scope or {}).items()]
    scope_params = [
        _field(meta, name).get_db_prep_value(value, connection)
        for name, value in (scope or {}).items()
    ]
    if connection.vendor == "postgresql" and len(rows) >= COPY_FROM_ROWS:
        scoped_sql = "".join(f" AND {table}.{column} = %s" for column, _ in scoped)
        if not scoped:
            # The keys again, as an array: Postgres then reads the rows by the key's index.
            # Joined only with the temporary table, it hashed the whole table for each batch
            # (80,000 customers: 147 ms for 1,000 rows, against 42 ms by the index).
            scoped_sql = f" AND {table}.{pk} = ANY(%s)"
            scope_params = [[row[0] for row in rows]]
        _update_copied(table, key_field, value_fields, rows, scoped_sql, scope_params)
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            placeholders = "(" + ", ".join(["%s"] * (len(columns) + 1)) + ")"
            values = ", ".join([placeholders] * len(rows))
            assignments = ", ".join(
                f"{column} = {typed(f'v.{column}', field)}"
                for column, field in zip(columns, value_fields, strict=True)
            )
            conditions = "".join(f" AND {table}.{column} = %s" for column, _ in scoped)
            # Only names from the model and placeholders: the values go as parameters.
            statement = (
                f"UPDATE {table} SET {assignments} FROM (VALUES {values}) "  # noqa: S608
                f"AS v({pk}, {', '.join(columns)}) WHERE {table}.{pk} = v.{pk}{conditions}"
            )
            cursor.execute(statement, [value for row in rows for value in row] + scope_params)
            return
        assignments = ", ".join(f"{column} = %s" for column in columns)
        conditions = "".join(f" AND {column} = %s" for column, _ in scoped)
        statement = f"UPDATE {table} SET {assignments} WHERE {pk} = %s{conditions}"  # noqa: S608
        cursor.executemany(statement, [(*row[1:], row[0], *scope_params) for row in rows])
