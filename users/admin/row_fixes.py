"""The import preview's "Rows to fix" form: an input for each field in error of each invalid
(or skipped) row, its message under it, a skip checkbox, and the row's history. Saving posts
the form (no JavaScript needed): each row whose cells or skip box changed goes through the
service the API's PATCH calls (users.imports.fixes), and the preview is drawn again.
users/static/users/admin_import.js saves one row in place through that API instead."""

import json

from django.contrib import messages
from django.http import HttpRequest

from users.customers.rules import CUSTOMER_FIELDS
from users.errors import ApplicationError
from users.excel.cells import cell_to_text
from users.excel.columns import column_index
from users.imports import fixes, parse, preview_columns, reclassify, reports, row_report
from users.imports.stored_rows import Outcome
from users.models import ImportJob, ImportRowFix, ImportStagedRow, User


def _inputs(errors: list[dict], letters: dict[str, str]) -> tuple[list[dict], list[str]]:
    """An input for each field in error that has a column (its cell as it is, its messages),
    and the messages of the rest (a row too long, a field without a column, a skip)."""
    inputs: dict[str, dict] = {}
    others = []
    for error in errors:
        name = error["field"]
        if name in letters:
            entry = inputs.setdefault(
                name,
                {
                    "field": name,
                    "label": parse.FIELD_LABELS[name],
                    "value": error["value"],
                    "messages": [],
                },
            )
            entry["messages"].append(error["message"])
        elif error["code"] != reclassify.SKIPPED:
            label = parse.FIELD_LABELS.get(name)
            others.append(f"{label}: {error['message']}" if label else error["message"])
    return list(inputs.values()), others


def fix_rows(job: ImportJob, preview: dict) -> list[dict]:
    """The rows the form shows: the preview's invalid rows and its skipped ones (as many as
    its lists carry), each with its inputs and history."""
    letters = preview_columns.field_letters(job)
    entries = [(entry, False) for entry in preview["parsing_results"]["invalid_rows"]] + [
        (entry, True) for entry in preview["skipped_rows"]
    ]
    numbers = [entry["source_row_number"] for entry, _ in entries]
    history: dict[int, list[ImportRowFix]] = {}
    for fix in ImportRowFix.objects.filter(job=job, row__in=numbers).select_related("changed_by"):
        history.setdefault(fix.row, []).append(fix)
    rows = []
    for entry, skipped in sorted(entries, key=lambda pair: pair[0]["source_row_number"]):
        number = entry["source_row_number"]
        inputs, others = _inputs(entry["errors"], letters)
        rows.append(
            {
                "row": number,
                "skipped": skipped,
                "inputs": inputs,
                "messages": others,
                "history": history.get(number, []),
            }
        )
    return rows


def _body(row: int, raw: list, post: dict, letters: dict[str, str]) -> dict:
    """The cells of `row` whose posted value differs from the cell as it stands (`raw`)."""
    body = {}
    for name in CUSTOMER_FIELDS:
        key = f"fix-{row}-{name}"
        if key in post and name in letters:
            index = column_index(letters[name])
            current = cell_to_text(raw[index]) if index < len(raw) else ""
            if post[key] != current:
                body[name] = post[key]
    return body


def fixes_save(request: HttpRequest, job: ImportJob) -> None:
    """Applies the posted form: for each row shown, its changed cells, then its skip box;
    says per row what it is now, or why it was refused."""
    letters = preview_columns.field_letters(job)
    post = request.POST
    user = request.user
    assert isinstance(user, User)  # the admin site lets only staff this far
    shown = _shown_rows(post.get("rows", ""))
    # The rows' cells and outcomes as they stand, in one query.
    standing = {
        row: (json.loads(raw), outcome)
        for row, raw, outcome in ImportStagedRow.objects.filter(
            job=job, source_row__in=shown
        ).values_list("source_row", "raw", "outcome")
    }
    for number in shown:
        if number not in standing:
            continue
        raw, outcome = standing[number]
        asked = []
        body = _body(number, raw, post, letters)
        if body:
            asked.append(body)
        skip = f"skip-{number}" in post
        if skip != (outcome == Outcome.SKIPPED):
            asked.append({fixes.ACTION_KEY: "skip" if skip else "include"})
        fixed = None
        try:
            for change in asked:
                fixed = fixes.row_fix(job=job, row=number, body=change, user=user)
        except ApplicationError as error:
            messages.error(request, f"Row {number}: {error.message}")
            continue
        if fixed is not None:
            outcome_name = reports.OUTCOME_NAMES[fixed.row.outcome]
            messages.success(
                request, f"Row {number} is now {row_report.outcome_text(outcome_name)}."
            )


def _shown_rows(text: str) -> list[int]:
    """The row numbers the form showed (its hidden `rows`)."""
    return [int(part) for part in text.split(",") if part.strip().isdigit()]
