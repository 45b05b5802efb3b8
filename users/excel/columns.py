"""Which column holds which field: by header text (any case, spacing or punctuation, with
aliases, forgiving a typo or two), or, for a file whose first row is data, the legacy positional
layout A-E; and the mapping an admin chooses over either."""

import re
from dataclasses import dataclass, field

from rapidfuzz.distance import OSA

from users.errors import INVALID_COLUMN_MAPPING, MISSING_COLUMNS, FileError
from users.excel.cells import cell_to_text

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
# Header texts whose normalised form is shorter than this are never guessed at ("Tel", "Cell":
# one typo away from too many words).
GUESS_MIN_LENGTH = 4

_NON_ALNUM = re.compile(r"[\W_]+")
_COLUMN_LETTERS = re.compile(r"[A-Za-z]{1,3}")
_EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s]+")
_PHONE_SHAPE = re.compile(r"\+?[\d\s().\-/]+")
_PHONE_MIN_DIGITS = 7


def header_key(text: object) -> str:
    """'E-mail Address', 'email_address' and ' EMAIL ADDRESS ' all give 'emailaddress'."""
    return _NON_ALNUM.sub("", cell_to_text(text)).casefold()


_FIELD_BY_KEY = {header_key(alias): name for name, aliases in ALIASES.items() for alias in aliases}
_ALIAS_BY_KEY = {header_key(alias): alias for aliases in ALIASES.values() for alias in aliases}


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


def column_index(letters: str) -> int:
    """A -> 0, Z -> 25, AA -> 26."""
    index = 0
    for letter in letters.upper():
        index = index * 26 + ord(letter) - 64
    return index - 1


@dataclass(frozen=True)
class ColumnMap:
    """Where each field is: `fields` maps a field to its column index."""

    layout: str  # "header" or "legacy"
    fields: dict[str, int]
    headers: list[str]  # the header text of each column, as in the file (legacy: the template's)
    unmapped: list[str] = field(default_factory=list)
    # field -> its template header, for a field whose header had a typo
    guessed: dict[str, str] = field(default_factory=dict)
    # the fields whose column the admin chose
    chosen: tuple[str, ...] = ()
    # when the choices were remembered ones (users.imports.mappings): whose, and when
    remembered: dict[str, object] = field(default_factory=dict)
    header_row: int = 0  # the header's row number in the file (0: no header row)

    def values(self, cells: list[object]) -> dict[str, object]:
        """A row's cells by field; columns the row does not reach are None."""
        return {
            name: cells[index] if index < len(cells) else None
            for name, index in self.fields.items()
        }

    def as_json(self) -> dict[str, str]:
        """field -> the header text (or column letter) it was read from."""
        return {name: self._label(name, index) for name, index in self.fields.items()}

    def _label(self, name: str, index: int) -> str:
        if index >= len(self.headers) or (self.layout == "legacy" and name in self.chosen):
            return column_letter(index)
        return self.headers[index]

    def letters(self) -> dict[str, str]:
        """field -> the letter of its column."""
        return {name: column_letter(index) for name, index in self.fields.items()}


def legacy_map() -> ColumnMap:
    return ColumnMap(
        layout="legacy",
        fields={name: index for index, name in enumerate(LEGACY_LAYOUT)},
        headers=[
            f"{column_letter(i)} ({TEMPLATE_HEADERS[n]})" for i, n in enumerate(LEGACY_LAYOUT)
        ],
    )


def _is_blank(cell: object) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _shaped_like_contact(text: str) -> bool:
    """A phone number or an email address: what a customer's row holds and a header never does."""
    if _EMAIL_SHAPE.fullmatch(text):
        return True
    return (
        bool(_PHONE_SHAPE.fullmatch(text)) and sum(c.isdigit() for c in text) >= _PHONE_MIN_DIGITS
    )


def first_row_is_data(cells: list[object]) -> bool:
    """Whether a file's first non-blank row is a customer (the legacy layout A-E) rather than a
    header. A header is text, and none of its cells is a phone number or an email address; a
    customer's row has a phone (required) and mostly an email, and spreadsheets often hold its
    phone as a number. Any other first row is a header, known or not: a file of another kind
    (goods received, with SHIPPING MARK/CLIENT, DATE OF RECEIPT, CTNS ...) is then refused for
    its missing columns instead of having its header row read as a customer."""
    for cell in cells:
        if _is_blank(cell):
            continue
        if not isinstance(cell, str) or _shaped_like_contact(cell.strip()):
            return True
    return False


def _typo_limit(key: str) -> int:
    return 1 if len(key) <= 5 else 2


def _guess(key: str, taken: set[str]) -> tuple[str, str] | None:
    """(field, its template header) for a header text one or two typos away from exactly one
    field's accepted headers (transposed letters count as one: "Phnoe"), or None."""
    if len(key) < GUESS_MIN_LENGTH:
        return None
    limit = _typo_limit(key)
    best: dict[str, tuple[int, str]] = {}
    for alias_key, name in _FIELD_BY_KEY.items():
        if name in taken or len(alias_key) < GUESS_MIN_LENGTH:
            continue
        distance = OSA.distance(key, alias_key, score_cutoff=limit)
        if distance <= limit and distance < best.get(name, (limit + 1, ""))[0]:
            best[name] = (distance, _ALIAS_BY_KEY[alias_key])
    if not best:
        return None
    closest = min(distance for distance, _ in best.values())
    fields = [name for name, (distance, _) in best.items() if distance == closest]
    if len(fields) != 1:
        return None  # as close to two fields: no guess
    return fields[0], TEMPLATE_HEADERS[fields[0]]


def match_headers(headers: list[str]) -> ColumnMap:
    """The fields that header texts name: exactly (after header_key()) first, then, for the
    fields still without a column, within a typo or two (reported as guesses)."""
    fields: dict[str, int] = {}
    guessed: dict[str, str] = {}
    for index, text in enumerate(headers):
        name = _FIELD_BY_KEY.get(header_key(text)) if text else None
        if name is not None and name not in fields:
            fields[name] = index
    mapped = set(fields.values())
    for index, text in enumerate(headers):
        if not text or index in mapped:
            continue
        guess = _guess(header_key(text), set(fields))
        if guess is not None:
            fields[guess[0]] = index
            guessed[guess[0]] = guess[1]
            mapped.add(index)
    unmapped = [text for index, text in enumerate(headers) if text and index not in mapped]
    return ColumnMap(
        layout="header", fields=fields, headers=headers, unmapped=unmapped, guessed=guessed
    )


def _columns_found(column_map: ColumnMap, width: int) -> list[dict[str, str]]:
    if column_map.layout == "legacy":
        return [{"column": column_letter(i), "header": ""} for i in range(width)]
    return [
        {"column": column_letter(i), "header": text}
        for i, text in enumerate(column_map.headers)
        if text
    ]


def _mapping_error(
    column_map: ColumnMap, width: int, problems: dict[str, tuple[str, str]]
) -> FileError:
    """problems: field -> (code, message)."""
    names = "; ".join(f"{name}: {message}" for name, (_, message) in problems.items())
    return FileError(
        INVALID_COLUMN_MAPPING,
        f"The column mapping cannot be used. {names}",
        details={
            "column_mapping": {
                name: [{"message": message, "code": code}]
                for name, (code, message) in problems.items()
            },
            "fields": list(TEMPLATE_HEADERS),
            "columns": _columns_found(column_map, width),
        },
    )


def _find_column(value: str, column_map: ColumnMap, width: int) -> int | None:
    """The column a chosen value names: a header text (compared as headers are), else a column
    letter within the file's width."""
    if column_map.layout == "header":
        key = header_key(value)
        for index, text in enumerate(column_map.headers):
            if text and header_key(text) == key:
                return index
    letters = value.strip()
    if _COLUMN_LETTERS.fullmatch(letters) and column_index(letters) < width:
        return column_index(letters)
    return None


def apply_choices(column_map: ColumnMap, chosen: dict[str, object], *, width: int) -> ColumnMap:
    """`column_map` with the admin's choices over it: {field: header text or column letter, or
    null to leave the field out}. A column chosen for one field is taken from any other field
    the header matching gave it. Raises FileError(invalid_column_mapping) naming every unknown
    field or column, with the valid choices."""
    problems: dict[str, tuple[str, str]] = {}
    picked: dict[str, int | None] = {}
    for name, value in chosen.items():
        if name not in TEMPLATE_HEADERS:
            known = ", ".join(TEMPLATE_HEADERS)
            problems[name] = ("unknown_field", f"Not a field. Fields: {known}.")
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
            picked[name] = None
            continue
        index = _find_column(value, column_map, width) if isinstance(value, str) else None
        if index is None:
            columns = ", ".join(
                c["column"] + (f" ({c['header']})" if c["header"] else "")
                for c in _columns_found(column_map, width)
            )
            message = f"No column {str(value)[:60]!r} in the file. Columns: {columns}."
            problems[name] = ("unknown_column", message)
            continue
        picked[name] = index
    by_column: dict[int, list[str]] = {}
    for name, index in picked.items():
        if index is not None:
            by_column.setdefault(index, []).append(name)
    for index, names in by_column.items():
        if len(names) > 1:
            message = (
                f"Column {column_letter(index)} is chosen for {', '.join(names)}; "
                "a column holds one field."
            )
            problems.update(dict.fromkeys(names, ("column_chosen_twice", message)))
    if problems:
        raise _mapping_error(column_map, width, problems)
    claimed = {index for index in picked.values() if index is not None}
    fields = {
        name: index
        for name, index in column_map.fields.items()
        if name not in picked and index not in claimed
    }
    fields.update({name: index for name, index in picked.items() if index is not None})
    ordered = {name: fields[name] for name in TEMPLATE_HEADERS if name in fields}
    mapped = set(ordered.values())
    unmapped = [
        text for index, text in enumerate(column_map.headers) if text and index not in mapped
    ]
    return ColumnMap(
        layout=column_map.layout,
        fields=ordered,
        headers=column_map.headers,
        unmapped=unmapped if column_map.layout == "header" else [],
        guessed={
            name: alias
            for name, alias in column_map.guessed.items()
            if name in fields and name not in picked
        },
        chosen=tuple(name for name in TEMPLATE_HEADERS if name in picked),
    )


def require_fields(
    column_map: ColumnMap, *, width: int, required: tuple[str, ...] = REQUIRED_FIELDS
) -> ColumnMap:
    """`column_map`, or FileError(missing_columns) naming the `required` fields without a column
    and the columns the file has."""
    missing = [name for name in required if name not in column_map.fields]
    if not missing:
        return column_map
    labels = [TEMPLATE_HEADERS[name] for name in missing]
    found = _columns_found(column_map, width)
    listed = ", ".join(c["header"] or c["column"] for c in found[:20]) or "none"
    raise FileError(
        MISSING_COLUMNS,
        f"The header row has no column for: {', '.join(labels)}. "
        f"Required: {', '.join(TEMPLATE_HEADERS[n] for n in required)}. "
        f"Columns found: {listed}. Is this a customer file? Rename its headers as in the "
        "template, or choose the columns (column_mapping).",
        details={
            "missing_columns": labels,
            "missing_fields": missing,
            "required": [TEMPLATE_HEADERS[name] for name in required],
            "columns_found": found,
            "column_mapping": column_map.as_json(),
        },
    )


def map_first_row(
    cells: list[object],
    *,
    header_required: bool = False,
    chosen: dict[str, object] | None = None,
    required: tuple[str, ...] = REQUIRED_FIELDS,
) -> ColumnMap | None:
    """The mapping a file's first non-blank row declares, with the admin's choices over it, or
    None when that row is data and the legacy layout applies (the caller then maps the legacy
    layout with map_legacy()).

    Raises FileError(missing_columns) when the mapping lacks a `required` field, and
    FileError(invalid_column_mapping) for choices naming no field or no column."""
    if not header_required and first_row_is_data(cells):
        return None
    headers = [cell_to_text(cell).strip() for cell in cells]
    column_map = match_headers(headers)
    if chosen:
        column_map = apply_choices(column_map, chosen, width=len(headers))
    return require_fields(column_map, width=len(headers), required=required)


def map_legacy(
    *,
    width: int,
    chosen: dict[str, object] | None = None,
    required: tuple[str, ...] = REQUIRED_FIELDS,
) -> ColumnMap:
    """The legacy layout A-E, with the admin's choices (by column letter) over it."""
    column_map = legacy_map()
    if chosen:
        column_map = apply_choices(column_map, chosen, width=max(width, len(LEGACY_LAYOUT)))
    return require_fields(column_map, width=max(width, len(LEGACY_LAYOUT)), required=required)
