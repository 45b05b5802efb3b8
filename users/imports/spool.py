"""The preview's rows between its stages, on a temporary file: memory holds each row's keys
(users.imports.classify), not its cells and values, so a 100,000-row preview stays within a
few tens of MB."""

import marshal
import struct
from collections.abc import Iterator
from typing import IO

from users.customers.rules import FieldProblem
from users.imports.parse import ParsedRow

# Rows per block of the spool between the stages.
SPOOL_BLOCK_ROWS = 1000


_BLOCK_LENGTH = struct.Struct("<Q")


def spool_block(spool: IO[bytes], block: list[tuple]) -> None:
    """Rows to the spool as one marshalled block of up to SPOOL_BLOCK_ROWS, behind its length:
    read back whole, a block costs 1.5 us a row against 16 us for marshal.load row by row."""
    if block:
        data = marshal.dumps(block)
        spool.write(_BLOCK_LENGTH.pack(len(data)))
        spool.write(data)


def spooled(spool: IO[bytes]) -> Iterator[tuple[int, ParsedRow]]:
    index = 0
    while header := spool.read(_BLOCK_LENGTH.size):
        (length,) = _BLOCK_LENGTH.unpack(header)
        # Our own spool, written a moment ago by preview_create: not outside input.
        for row, raw, values, problems, given in marshal.loads(spool.read(length)):  # noqa: S302
            yield index, ParsedRow(row, raw, values, [FieldProblem(*p) for p in problems], given)
            index += 1


def spooled_values(spool: IO[bytes], indexes: set[int]) -> dict[int, dict]:
    """The cleaned values of these rows, read from the spool (which is left at its start), its
    blocks taken apart without building a ParsedRow a row."""
    spool.seek(0)
    found: dict[int, dict] = {}
    index = 0
    while header := spool.read(_BLOCK_LENGTH.size):
        (length,) = _BLOCK_LENGTH.unpack(header)
        block = marshal.loads(spool.read(length))  # noqa: S302 (our own spool, as spooled)
        for offset in indexes.intersection(range(index, index + len(block))):
            found[offset] = block[offset - index][2]
        index += len(block)
    spool.seek(0)
    return found
