"""A cell as text: the one conversion every reader and rule shares, and the cut every reader
makes to a cell too long to be a field."""

import datetime
import math

# What Excel shows for a number it cannot hold. A NaN or an infinity in a cell (other programs
# write them) is read as this text: no field accepts it, and JSON, which has no such numbers,
# can carry it (calamine_child.py, which imports nothing of ours, has its own copy).
NUM_ERROR = "#NUM!"


class CutText(str):
    """The first characters of a cell that held more than a reader keeps; `length` is how many
    it held. It reads as the text it keeps, so a cut cell is shown as it began."""

    length: int

    def __new__(cls, text: str, length: int) -> "CutText":
        cut = super().__new__(cls, text)
        cut.length = length
        return cut


def cut_cell(value: object, max_chars: int) -> object:
    """`value`, or a CutText of its first `max_chars` characters when it is longer text."""
    if isinstance(value, str) and len(value) > max_chars:
        return CutText(value[:max_chars], getattr(value, "length", len(value)))
    return value


def cell_to_text(value: object) -> str:
    """A spreadsheet cell or JSON value as text; 241234567.0 (a numeric cell) becomes 241234567."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return NUM_ERROR
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


def finite(value: object, replacement: object = NUM_ERROR) -> object:
    """`value` (nested lists, tuples and dicts) with every NaN or infinite float as
    `replacement`: what is stored or sent must read back as JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return replacement
    if isinstance(value, list | tuple):
        return [finite(item, replacement) for item in value]
    if isinstance(value, dict):
        return {key: finite(item, replacement) for key, item in value.items()}
    return value
