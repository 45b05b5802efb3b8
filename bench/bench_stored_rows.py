"""Stored-row benchmark: what the stored row's type costs over the JSON lists it is stored as,
per row, on this machine (no database: the chunk's text is encoded and decoded in memory).

    DEBUG=1 .venv/bin/python bench/bench_stored_rows.py [--repeat 7]

A chunk of 1,000 rows to create (users.imports.stored_rows.CHUNK_ROWS), each as a preview stores
a typical customer row. Prints one markdown table: microseconds a row, the best of --repeat
timings of 50 chunks each (the best, not the median: other processes share the machine's cores,
and the least disturbed timing is the closest to the code's own cost).
"""

import argparse
import json
import os
import platform
import sys
import timeit

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "primepre.settings")

import django

django.setup()

from users.imports.stored_rows import (  # noqa: E402
    CHUNK_ROWS,
    Outcome,
    StoredRow,
    decode,
    encode,
)

RAW = ["PM 1 KWAME", "Kwame", "Mensah", "kwame@example.com", "0241234567", "ASHANTI"]
VALUES = [
    "PM 1 KWAME",
    "Kwame",
    "Mensah",
    "kwame@example.com",
    "+233241234567",
    "ASHANTI",
    "",
    "",
    "INDIVIDUAL",
]


def per_row_us(step, repeat: int, number: int = 50) -> float:
    return min(timeit.repeat(step, number=number, repeat=repeat)) / number / CHUNK_ROWS * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    repeat = parser.parse_args().repeat
    numbers = range(2, CHUNK_ROWS + 2)

    def write_lists() -> str:
        # Before the type: the store built each row's list and dumped the chunk.
        lists = [[n, "c", RAW, VALUES, 0] for n in numbers]
        return json.dumps(lists, separators=(",", ":"), allow_nan=False)

    def write_rows() -> str:
        return encode([StoredRow(n, Outcome.CREATE, RAW, VALUES, False) for n in numbers])

    text = write_rows()
    if decode(text) != decode(write_lists()):
        raise RuntimeError("the two ways store different rows")
    figures = [
        ("write: a list a row, json.dumps (before)", per_row_us(write_lists, repeat)),
        ("write: a StoredRow a row, encode (now)", per_row_us(write_rows, repeat)),
        ("read: json.loads (before)", per_row_us(lambda: json.loads(text), repeat)),
        ("read: decode to StoredRows (now)", per_row_us(lambda: decode(text), repeat)),
    ]
    load = os.getloadavg()[0]
    print(
        f"{platform.node()}, Python {platform.python_version()}, {os.cpu_count()} cores, "
        f"load average {load:.1f}"
    )
    print()
    print("| step, a chunk of 1,000 rows to create | us a row |")
    print("|---|---|")
    for name, us in figures:
        print(f"| {name} | {us:.2f} |")


if __name__ == "__main__":
    main()
