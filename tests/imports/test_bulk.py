"""Rows in one statement: the COPY text of a row says exactly what the row holds, and the same
rows go in on either database."""

from datetime import UTC, datetime

import pytest

from tests.factories import StaffFactory
from tests.imports.helpers import preview, records
from users.imports import bulk
from users.models import ImportRowError


@pytest.mark.parametrize(
    ("row", "line"),
    [
        (("Kwame", "Mensah", 12), "Kwame\tMensah\t12"),
        (("Kwame", None, ""), "Kwame\t\\N\t"),
        (("O\\Brien", "a\tb", "c\nd", "e\rf"), "O\\\\Brien\ta\\tb\tc\\nd\te\\rf"),
        (("\\N", None), "\\\\N\t\\N"),
    ],
)
def test_a_rows_copy_text_escapes_what_copy_reads_specially_and_nothing_else(row, line):
    assert bulk._copy_line(row) == line


def test_booleans_and_times_are_written_as_copy_reads_them():
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

    assert [bulk._copy_text(v) for v in (True, False, moment, None)] == [
        "t",
        "f",
        "2026-01-02T03:04:05+00:00",
        "\\N",
    ]


@pytest.mark.django_db
def test_rows_go_in_with_their_shared_values_in_one_statement():
    job = preview(StaffFactory(), records(1))

    bulk.insert_rows(
        ImportRowError,
        fields=("row", "position", "field", "code", "message", "value"),
        rows=[(7, 5, "phone", "invalid_phone", "Not valid.", "0\\1"), (8, 6, "", "x", "y", "")],
        shared={"job": job.pk, "at_run": True},
    )

    stored = ImportRowError.objects.filter(job=job, at_run=True).order_by("row")
    assert [(e.row, e.position, e.field, e.code, e.value) for e in stored] == [
        (7, 5, "phone", "invalid_phone", "0\\1"),
        (8, 6, "", "x", ""),
    ]
