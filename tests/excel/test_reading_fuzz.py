"""Fuzzing the reader: whatever bytes arrive, the only outcomes are rows or a FileError with one of
the documented codes (never another exception, a hang, or a child left behind)."""

import datetime
import os
import tempfile

import psutil
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.excel import builders
from users.errors import (
    CORRUPT_FILE,
    EMPTY_FILE,
    FILE_TOO_LARGE,
    NO_DATA,
    TOO_MANY_ROWS,
    UNSAFE_FILE,
    UNSUPPORTED_FILE_TYPE,
    FileError,
)
from users.excel.reading import ReaderLimits, open_rows

FILE_CODES = {
    CORRUPT_FILE,
    EMPTY_FILE,
    FILE_TOO_LARGE,
    NO_DATA,
    TOO_MANY_ROWS,
    UNSAFE_FILE,
    UNSUPPORTED_FILE_TYPE,
}
# Small limits so a mutation that makes a big sheet is cut short quickly.
LIMITS = ReaderLimits(max_rows=50, blank_run=20, max_columns=20, memory_mb=64, timeout_s=10)
CELL_TYPES = (str, int, float, bool, type(None))

ROWS = [
    ["Shipping Mark", "First Name", "Last Name", "Phone Number", "Joined"],
    ["PM1 KOFI", "Kofi", "Mensah", 241234567, datetime.date(2024, 1, 15)],
    [None, "Ama", "Owusu", "0201234567", True],
]
SEEDS = [
    builders.xlsx_bytes(ROWS),
    builders.ods_bytes(ROWS),
    builders.xls_bytes(ROWS),
    builders.csv_bytes(ROWS),
    builders.csv_bytes(ROWS, encoding="utf-16-le", bom=True, delimiter=";"),
]


def _read(data: bytes) -> list:
    with tempfile.NamedTemporaryFile(delete=False) as file:
        file.write(data)
    try:
        with open_rows(file.name, limits=LIMITS) as stream:
            return list(stream)
    finally:
        os.unlink(file.name)


def _outcome(data: bytes) -> list | FileError:
    try:
        return _read(data)
    except FileError as error:
        return error


def _assert_rows_or_documented_error(data: bytes) -> None:
    outcome = _outcome(data)
    assert psutil.Process().children() == []
    if isinstance(outcome, FileError):
        assert outcome.code in FILE_CODES
        return
    rows = outcome
    numbers = [number for number, _ in rows]
    assert numbers == sorted(set(numbers))
    assert 0 < len(rows) <= LIMITS.max_rows
    for _, cells in rows:
        assert len(cells) <= LIMITS.max_columns
        assert all(isinstance(cell, CELL_TYPES) for cell in cells)


def _mutate(draw, data: bytes) -> bytes:
    """`data` with a few bytes overwritten, a slice inserted or deleted, or cut short."""
    data = bytearray(data)
    for _ in range(draw(st.integers(1, 8))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["overwrite", "insert", "delete", "truncate"]))
        if action == "overwrite":
            patch = draw(st.binary(min_size=1, max_size=8))
            data[at : at + len(patch)] = patch
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif action == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif at > 0:
            del data[at:]
    return bytes(data)


@st.composite
def mutated_seed(draw) -> bytes:
    """A valid file of any type, mutated as bytes (zips then mostly fail their CRC)."""
    return _mutate(draw, draw(st.sampled_from(SEEDS)))


@st.composite
def mutated_member(draw) -> bytes:
    """A valid xlsx or ods with one member's XML mutated and zipped again honestly, so the
    mutation reaches calamine's parsers."""
    members = builders.xlsx_members(draw(st.sampled_from(SEEDS[:2])))
    name = draw(st.sampled_from(sorted(members)))
    members[name] = _mutate(draw, members[name])
    return builders.zip_from_members(
        [
            builders.stored_member(name, body)
            if name == "mimetype"
            else builders.deflated_member(name, body)
            for name, body in members.items()
        ]
    )


FUZZ_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)


@FUZZ_SETTINGS
@given(st.binary(max_size=4096))
def test_random_bytes_give_rows_or_a_documented_file_error(data):
    _assert_rows_or_documented_error(data)


@FUZZ_SETTINGS
@given(mutated_seed())
def test_mutated_spreadsheets_give_rows_or_a_documented_file_error(data):
    _assert_rows_or_documented_error(data)


@FUZZ_SETTINGS
@given(mutated_member())
def test_spreadsheets_with_a_mutated_part_give_rows_or_a_documented_file_error(data):
    _assert_rows_or_documented_error(data)


@FUZZ_SETTINGS
@given(st.sampled_from([b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"]), st.binary())
def test_random_bytes_behind_a_zip_or_ole_signature_give_rows_or_a_documented_file_error(
    magic, tail
):
    _assert_rows_or_documented_error(magic + tail)
