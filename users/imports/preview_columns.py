"""The upload's columns as a preview shows them: the name of each column as uploaded, the field
read from each and how that was decided (the header, a guess, the admin's choice, a remembered
choice, or the legacy position), the typo guesses to check, and the fields a column can be
mapped to."""

from typing import cast

from users.customers.rules import CUSTOMER_FIELDS
from users.excel.columns import LEGACY_LAYOUT, REQUIRED_FIELDS, TEMPLATE_HEADERS, column_letter
from users.imports import mappings
from users.models import ImportJob


def column_names(job: ImportJob, width: int) -> list[str]:
    """A name for each column as uploaded: its header text, or for the legacy layout the
    template's header; columns without one are "Column F"."""
    if job.column_mapping.get("layout") == "legacy":
        names = [TEMPLATE_HEADERS[name] for name in LEGACY_LAYOUT]
    else:
        names = list(job.headers)
    names += [""] * (width - len(names))
    return [name or f"Column {column_letter(i)}" for i, name in enumerate(names)]


def column_mapping(job: ImportJob) -> dict[str, str]:
    """field -> the header it was read from, in the template's field order (Postgres's jsonb
    does not keep the order keys were written in)."""
    fields = job.column_mapping.get("fields", {})
    return {name: fields[name] for name in CUSTOMER_FIELDS if name in fields}


def field_letters(job: ImportJob) -> dict[str, str]:
    """field -> the letter of its column. Previews stored before letters were kept name their
    columns by header text (or, legacy, by position): the letter is found from that."""
    mapping = job.column_mapping
    if "letters" in mapping:
        return cast("dict[str, str]", mapping["letters"])  # as _mapping_json stored it
    if mapping.get("layout") == "legacy":
        return {name: column_letter(index) for index, name in enumerate(LEGACY_LAYOUT)}
    headers = list(job.headers)
    return {
        name: column_letter(headers.index(header))
        for name, header in (mapping.get("fields") or {}).items()
        if header in headers
    }


def columns(job: ImportJob) -> list[dict[str, object]]:
    """Every column of the upload: its letter, its header text, the field read from it (or
    None) and how that was decided: "header" (its text names the field), "guess" (its text is a
    typo or two away from one that does), "chosen" (by the admin), "remembered" (as an admin
    chose it for a file with these headers: users.imports.mappings) or "position" (the legacy
    layout)."""
    mapping = job.column_mapping
    letters = field_letters(job)
    by_letter = {letter: name for name, letter in letters.items()}
    guessed = mapping.get("guessed") or {}
    chosen = set(mapping.get("chosen") or [])
    remembered = mappings.recalled_fields(job)
    legacy = mapping.get("layout") == "legacy"
    headers = [] if legacy else list(job.headers)
    width = max(mapping.get("width", 0), len(headers))
    found = []
    for index in range(width):
        letter = column_letter(index)
        name = by_letter.get(letter)
        how = None
        if name is not None:
            how = (
                "remembered"
                if name in remembered
                else "chosen"
                if name in chosen
                else "guess"
                if name in guessed
                else "position"
                if legacy
                else "header"
            )
        found.append(
            {
                "column": letter,
                "header": headers[index] if index < len(headers) else "",
                "field": name,
                "match": how,
            }
        )
    return found


def column_guesses(job: ImportJob) -> list[dict[str, object]]:
    """The columns mapped from a header with a typo, for the admin to confirm or change."""
    mapping = job.column_mapping
    guessed = mapping.get("guessed") or {}
    fields = mapping.get("fields") or {}
    letters = field_letters(job)
    return [
        {
            "field": name,
            "column": letters.get(name, ""),
            "header": fields.get(name, ""),
            "taken_for": guessed[name],
        }
        for name in CUSTOMER_FIELDS
        if name in guessed
    ]


def field_choices() -> list[dict[str, object]]:
    """The fields a column can be mapped to (the keys of a column_mapping)."""
    return [
        {"field": name, "label": label, "required": name in REQUIRED_FIELDS}
        for name, label in TEMPLATE_HEADERS.items()
    ]
