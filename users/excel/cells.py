"""A cell as text: the one conversion every reader and rule shares."""

import datetime


def cell_to_text(value: object) -> str:
    """A spreadsheet cell or JSON value as text; 241234567.0 (a numeric cell) becomes 241234567."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    return str(value)
