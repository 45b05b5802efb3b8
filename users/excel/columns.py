"""Which column holds which field: by header text (any case, spacing or punctuation, with
aliases), or, for a file without a header row, the legacy positional layout A-E."""

import re
from dataclasses import dataclass, field

from users.excel.cells import cell_to_text
from users.excel.errors import MISSING_COLUMNS, FileError

# The columns of the template and the export, in order, with their header text.
TEMPLATE_HEADERS: dict[str, str] = {
    "shipping_mark": "Shipping Mark",
    "first_name": "First Name",
    "last_name": "Last Name",
    "email": "Email",
    "phone": "Phone Number",
    "region": "Region",
    "company_name": "Company Name",
    "nickname": "Nickname",
    "user_type": "Customer Type",
}

# Other header texts accepted for each field (compared after header_key()).
ALIASES: dict[str, tuple[str, ...]] = {
    "shipping_mark": ("Shipping Mark", "Mark", "Shipping Code", "Ship Mark", "Shipping Marks"),
    "first_name": ("First Name", "Given Name", "Firstname", "Forename", "First"),
    "last_name": ("Last Name", "Surname", "Family Name", "Lastname", "Last"),
    "email": ("Email", "E-mail", "Email Address", "Mail", "E-mail Address"),
    "phone": (
        "Phone Number",
        "Phone",
        "Mobile",
        "Mobile Number",
        "Tel",
        "Telephone",
        "Contact",
        "Contact Number",
        "WhatsApp",
        "WhatsApp Number",
        "Phone No",
        "Mobile No",
        "Cell",
    ),
    "region": ("Region", "Region Name", "Location Region"),
    "company_name": ("Company Name", "Company", "Business", "Business Name"),
    "nickname": ("Nickname", "Nick Name", "Nick", "Alias"),
    "user_type": ("Customer Type", "Type", "User Type", "Client Type", "Account Type"),
}

REQUIRED_FIELDS = ("first_name", "last_name", "phone")
LEGACY_LAYOUT = ("shipping_mark", "first_name", "last_name", "email", "phone")
# A first row is taken as the header row when at least this many of its cells name a field.
HEADER_MIN_MATCHES = 2

_NON_ALNUM = re.compile(r"[\W_]+")


def header_key(text: object) -> str:
    """'E-mail Address', 'email_address' and ' EMAIL ADDRESS ' all give 'emailaddress'."""
    return _NON_ALNUM.sub("", cell_to_text(text)).casefold()


_FIELD_BY_KEY = {header_key(alias): name for name, aliases in ALIASES.items() for alias in aliases}


def field_of_header(text: object) -> str | None:
    """The customer field a header text names ("Mobile" -> phone), or None."""
    return _FIELD_BY_KEY.get(header_key(text))


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@dataclass(frozen=True)
class ColumnMap:
    """Where each field is: `fields` maps a field to its column index."""

    layout: str  # "header" or "legacy"
    fields: dict[str, int]
    headers: list[str]  # the header text of each column, as in the file (legacy: the template's)
    unmapped: list[str] = field(default_factory=list)

    def values(self, cells: list) -> dict[str, object]:
        """A row's cells by field; columns the row does not reach are None."""
        return {
            name: cells[index] if index < len(cells) else None
            for name, index in self.fields.items()
        }

    def as_json(self) -> dict[str, str]:
        """field -> the header text (or column letter) it was read from."""
        return {name: self.headers[index] for name, index in self.fields.items()}


def legacy_map() -> ColumnMap:
    return ColumnMap(
        layout="legacy",
        fields={name: index for index, name in enumerate(LEGACY_LAYOUT)},
        headers=[
            f"{column_letter(i)} ({TEMPLATE_HEADERS[n]})" for i, n in enumerate(LEGACY_LAYOUT)
        ],
    )


def map_header_row(
    cells: list, *, header_required: bool = False, required: tuple[str, ...] = REQUIRED_FIELDS
) -> ColumnMap | None:
    """The mapping that `cells` (a file's first non-blank row) declares, or None when it is not
    a header row (the file then uses the legacy layout and this row is data).

    Raises FileError(missing_columns) when it is a header row without a `required` field (or,
    with header_required, whenever a required field has no column)."""
    fields: dict[str, int] = {}
    unmapped: list[str] = []
    headers = [cell_to_text(cell).strip() for cell in cells]
    for index, text in enumerate(headers):
        if not text:
            continue
        name = _FIELD_BY_KEY.get(header_key(text))
        if name is None or name in fields:
            unmapped.append(text)
        else:
            fields[name] = index
    if len(fields) < HEADER_MIN_MATCHES and not header_required:
        return None
    missing = [name for name in required if name not in fields]
    if missing:
        names = ", ".join(TEMPLATE_HEADERS[name] for name in missing)
        raise FileError(
            MISSING_COLUMNS,
            f"The header row has no column for: {names}.",
            details={"missing_columns": [TEMPLATE_HEADERS[name] for name in missing]},
        )
    return ColumnMap(layout="header", fields=fields, headers=headers, unmapped=unmapped)
