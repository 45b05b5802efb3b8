"""Reading a preview back: its lists and summary as the SPA and the admin show them (its
columns: users.imports.preview_columns), and what a row's errors say (users.imports.progress
reads a running or finished job)."""

import math
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from users.customers import roles, selectors
from users.imports import mappings, parse
from users.imports.preview_columns import (
    column_guesses,
    column_mapping,
    column_names,
    columns,
    field_choices,
)
from users.imports.stored_rows import Outcome, StoredRow, StoredRows
from users.models import ImportJob, ImportRowError, User

# Preview lists by name, and the outcomes each holds.
LISTS: dict[str, tuple[Outcome, ...]] = {
    "candidates": (
        Outcome.CREATE,
        Outcome.POSSIBLE_DUPLICATE,
        Outcome.EXISTING,
        Outcome.BATCH,
        Outcome.UPDATE,
        Outcome.UNCHANGED,
        Outcome.AMBIGUOUS,
        Outcome.NO_MATCH,
    ),
    "invalid": (Outcome.INVALID,),
    "existing": (Outcome.EXISTING,),
    "batch": (Outcome.BATCH,),
    # Every row to create, possible duplicates among them (they are created too).
    "create": (Outcome.CREATE, Outcome.POSSIBLE_DUPLICATE),
    "possible_duplicates": (Outcome.POSSIBLE_DUPLICATE,),
    "update": (Outcome.UPDATE,),
    "unchanged": (Outcome.UNCHANGED,),
    "ambiguous": (Outcome.AMBIGUOUS,),
    "no_match": (Outcome.NO_MATCH,),
    "skipped": (Outcome.SKIPPED,),
}
# The lists an upload's answer carries (each row once); "candidates" is only paged.
PREVIEW_LISTS = (
    "invalid",
    "existing",
    "batch",
    "create",
    "possible_duplicates",
    "update",
    "ambiguous",
    "no_match",
    "skipped",
)
STATUS_LIST_LIMIT = 100
# The name of each outcome, as the preview's lists call them (the list "create" holds the
# possible duplicates too, which have a list of their own).
OUTCOME_NAMES = {outcomes[0]: name for name, outcomes in LISTS.items() if len(outcomes) == 1} | {
    Outcome.CREATE: "create"
}


def raw_data(job: ImportJob, raw: list[Any]) -> dict[str, object]:
    """A stored row by column name, within the caps it was stored under (rows stored before the
    caps existed may be longer)."""
    cells, _ = parse.bounded_raw(raw)
    return dict(zip(column_names(job, len(cells)), cells, strict=False))


def errors_by_row(job: ImportJob, rows: set[int]) -> dict[int, list[ImportRowError]]:
    found: dict[int, list[ImportRowError]] = {}
    if not rows:
        return found
    for error in ImportRowError.objects.filter(job=job, row__gte=min(rows), row__lte=max(rows)):
        if error.row in rows:
            found.setdefault(error.row, []).append(error)
    return found


def reason(errors: list[ImportRowError]) -> str:
    return "; ".join(
        f"{parse.FIELD_LABELS.get(e.field, e.field)}: {e.message}" if e.field else e.message
        for e in errors
    )


def error_json(error: ImportRowError) -> dict[str, object]:
    return {
        "row": error.row,
        "field": error.field,
        "code": error.code,
        "message": error.message,
        "value": error.value,
    }


def list_totals(job: ImportJob) -> dict[str, int]:
    """How many rows each preview list holds in all."""
    return {
        "candidates": job.total_rows - job.invalid_count - job.skipped_in_preview_count,
        "invalid": job.invalid_count,
        "existing": job.existing_duplicate_count,
        "batch": job.batch_duplicate_count,
        "create": job.to_create_count,
        "update": job.to_update_count,
        "unchanged": job.unchanged_count,
        "ambiguous": job.ambiguous_count,
        "no_match": job.no_match_count,
        "possible_duplicates": job.possible_duplicate_count,
        "skipped": job.skipped_in_preview_count,
    }


def _collect(
    job: ImportJob, names: tuple[str, ...], *, offset: int, limit: int
) -> dict[str, list[StoredRow]]:
    """The staged rows of each named list, from `offset`, at most `limit` each: one query for
    each list that holds any (the job's counts say which)."""
    totals = list_totals(job)
    return {
        name: StoredRows(job.pk, outcomes=LISTS[name]).page(offset=offset, limit=limit)
        if totals[name] > offset
        else []
        for name in names
    }


def _existing_customers(rows: list[StoredRow], viewer: User) -> dict[int, list[dict[str, object]]]:
    """For rows that clash with stored users: those `viewer` may see (roles.visible), in two
    queries. A row that clashes with an account hidden from them still says which of its
    values is taken, and names nobody."""
    if not rows:
        return {}
    values = [row.fields() for row in rows]
    clashes = selectors.Clashes(values)
    held = [clashes.of(value) for value in values]
    shown = selectors.visible_ids(actor=viewer, ids=(user.id for h in held for _, user in h))
    return {
        row.source_row: [
            {
                "id": user.id,
                "phone": user.phone,
                "email": user.email,
                "shipping_mark": user.shipping_mark,
                "first_name": user.first_name,
                "last_name": user.last_name,
            }
            for user in dict.fromkeys(user for _, user in found)
            if user.id in shown
        ]
        for row, found in zip(rows, held, strict=True)
    }


def _resembled_customers(rows: list[StoredRow], viewer: User) -> dict[int, dict[str, object]]:
    """The customers these possible duplicates resemble that `viewer` may see
    (roles.visible, as the existing duplicates' customers are named), by id, in one query."""
    ids = {
        row.resemblance.customer_id
        for row in rows
        if row.resemblance and row.resemblance.customer_id is not None
    }
    if not ids:
        return {}
    found = User.objects.filter(roles.visible(viewer), pk__in=ids).values(
        "id", "first_name", "last_name", "phone", "shipping_mark"
    )
    return {values["id"]: dict(values) for values in found}


def possible_duplicate_entries(rows: list[StoredRow], viewer: User) -> list[dict[str, object]]:
    """Each possible duplicate: the row, the reason (code and sentence), and what it resembles:
    the customer (id, names, phone, mark) or the earlier row's number in the file. A customer
    `viewer` may not see (roles.visible) is named by neither: the sentence says "another
    account", as an ambiguous match's does."""
    customers = _resembled_customers(rows, viewer)
    entries: list[dict[str, object]] = []
    for row in rows:
        found = row.resemblance
        if found is None:
            continue  # only a possible duplicate holds one
        customer = customers.get(found.customer_id) if found.customer_id else None
        hidden = found.customer_id is not None and customer is None
        entries.append(
            {
                "candidate": row.candidate(),
                "reason_code": found.code,
                "reason": found.message.replace(f"customer #{found.customer_id}", "another account")
                if hidden
                else found.message,
                "resembles": {
                    "customer_id": None if hidden else found.customer_id,
                    "customer": customer,
                    "row": found.row,
                },
            }
        )
    return entries


def list_entries(
    job: ImportJob, name: str, rows: list[StoredRow], *, viewer: User
) -> list[dict[str, object]]:
    """Shapes stored rows for one preview list, as the SPA reads them, for `viewer`."""
    errors = errors_by_row(job, {row.source_row for row in rows})
    if name in ("invalid", "skipped"):
        return [
            {
                "source_row_number": row.source_row,
                "reason": reason(errors.get(row.source_row, [])),
                "raw_data": raw_data(job, row.raw),
                "errors": [error_json(e) for e in errors.get(row.source_row, [])],
            }
            for row in rows
        ]
    if name == "existing":
        customers = _existing_customers(rows, viewer)
        return [
            {
                "candidate": row.candidate(),
                "reason": reason(errors.get(row.source_row, [])),
                "existing_customers": customers.get(row.source_row, []),
            }
            for row in rows
        ]
    if name in ("batch", "ambiguous", "no_match"):
        return [
            {
                "candidate": row.candidate(),
                "reason": reason(errors.get(row.source_row, [])),
                "errors": [error_json(e) for e in errors.get(row.source_row, [])],
            }
            for row in rows
        ]
    if name == "possible_duplicates":
        return possible_duplicate_entries(rows, viewer)
    if name in ("update", "unchanged"):
        return [
            {
                "source_row_number": row.source_row,
                "customer_id": row.customer_id,
                "changes": [
                    {"field": field, "old": old, "new": new} for field, old, new in row.changes
                ],
            }
            for row in rows
        ]
    return [row.candidate() for row in rows]


def summary(job: ImportJob) -> dict[str, int]:
    """The preview's counts; an update's adds its own, and a preview with skipped rows their
    count (a create's stay as the SPA reads them, but for the update counts of possible
    duplicates chosen to update their customer, once there are any)."""
    counts = {
        "total_rows": job.total_rows,
        "invalid": job.invalid_count,
        "existing_duplicates": job.existing_duplicate_count,
        "batch_duplicates": job.batch_duplicate_count,
        "to_create": job.to_create_count,
        "possible_duplicates": job.possible_duplicate_count,
    }
    if job.skipped_in_preview_count:
        # Only once rows were skipped: a preview without any keeps the SPA's five counts.
        counts["skipped"] = job.skipped_in_preview_count
    updates = {
        "to_update": job.to_update_count,
        "unchanged": job.unchanged_count,
        "ambiguous": job.ambiguous_count,
        "no_match": job.no_match_count,
    }
    if job.mode == ImportJob.Mode.CREATE:
        # Only those a choice made (users.imports.choices): a create keeps the SPA's counts.
        updates = {name: count for name, count in updates.items() if count}
    return counts | updates


def _possible_duplicates_note(job: ImportJob) -> str:
    """How many rows to create look like a customer or an earlier row, if any."""
    count = job.possible_duplicate_count
    if not count:
        return ""
    rows, look = ("row", "looks") if count == 1 else ("rows", "look")
    return (
        f" {count:,} {rows} to create {look} like an existing customer or an earlier row: "
        "check the possible duplicates (they are created unless you change them)."
    )


def preview_message(job: ImportJob) -> str:
    notes = "".join(
        f' Column {g["column"]} "{g["header"]}" was taken for {g["taken_for"]}: check it.'
        for g in column_guesses(job)
    ) + mappings.recalled_message(job)
    notes = _possible_duplicates_note(job) + notes
    if job.skipped_in_preview_count:
        notes = f" {job.skipped_in_preview_count:,} skipped." + notes
    if job.mode == ImportJob.Mode.CREATE:
        chosen = [
            f"{count:,} {what}"
            for count, what in (
                (job.to_update_count, "to update"),
                (job.unchanged_count, "unchanged"),
                (job.ambiguous_count, "match two customers"),
            )
            if count
        ]
        return (
            f"{job.total_rows:,} rows read: {job.to_create_count:,} to create, "
            + "".join(f"{part}, " for part in chosen)
            + f"{job.invalid_count:,} invalid, {job.existing_duplicate_count:,} already exist, "
            f"{job.batch_duplicate_count:,} repeated in the file." + notes
        )
    parts = [
        f"{job.to_update_count:,} to update",
        f"{job.unchanged_count:,} unchanged",
        *([f"{job.to_create_count:,} to create"] if job.mode == ImportJob.Mode.UPDATE else []),
        *([f"{job.no_match_count:,} match no customer"] if job.no_match_count else []),
        *([f"{job.ambiguous_count:,} match two customers"] if job.ambiguous_count else []),
        f"{job.invalid_count:,} invalid",
        *(
            [f"{job.existing_duplicate_count:,} clash with other customers"]
            if job.existing_duplicate_count
            else []
        ),
        *(
            [f"{job.batch_duplicate_count:,} repeated in the file"]
            if job.batch_duplicate_count
            else []
        ),
    ]
    return f"{job.total_rows:,} rows read: " + ", ".join(parts) + "." + notes


def job_row_errors(job: ImportJob) -> QuerySet[ImportRowError]:
    return ImportRowError.objects.filter(job=job).order_by("row", "id")


def preview_response(job: ImportJob, *, viewer: User) -> dict[str, object]:
    """The answer to an upload (the SPA reads these names), as `viewer` may see it. Lists hold
    at most IMPORT_PREVIEW_LIST_LIMIT entries each; `summary` always counts everything."""
    limit = settings.IMPORT_PREVIEW_LIST_LIMIT
    # Every valid row ("candidates") is already in one of the three duplicate_results lists; it is
    # paged at rows/?list=candidates rather than sent a second time here.
    rows = _collect(job, PREVIEW_LISTS, offset=0, limit=limit)
    lists = {name: list_entries(job, name, found, viewer=viewer) for name, found in rows.items()}
    valid = job.total_rows - job.invalid_count - job.skipped_in_preview_count
    errors_total = job_row_errors(job).count()
    truncated = max(job.invalid_count, valid, errors_total) > limit
    return {
        "success": True,
        "message": preview_message(job),
        "upload_id": str(job.pk),
        "file_name": job.file_name,
        "file_type": job.file_type,
        "sheet": job.column_mapping.get("sheet"),
        "column_mapping": column_mapping(job),
        "layout": job.column_mapping.get("layout"),
        "mode": job.mode,
        "match": job.match,
        "blank_clears": job.blank_clears,
        "unmapped_columns": job.column_mapping.get("unmapped", []),
        "columns": columns(job),
        "column_guesses": column_guesses(job),
        "remembered_mapping": mappings.recalled_json(job, viewer=viewer),
        "field_choices": field_choices(),
        "summary": summary(job),
        "parsing_results": {
            "invalid_rows": lists["invalid"],
            "total_rows": job.total_rows,
            "valid_candidates": valid,
        },
        "duplicate_results": {
            "existing_duplicates": lists["existing"],
            "batch_duplicates": lists["batch"],
            "unique_candidates": lists["create"],
            "possible_duplicates": lists["possible_duplicates"],
        },
        "skipped_rows": lists["skipped"],
        "update_results": {
            "to_update": lists["update"],
            "ambiguous": lists["ambiguous"],
            "no_match": lists["no_match"],
        },
        "errors": [error_json(e) for e in job_row_errors(job)[:limit]],
        "errors_total": errors_total,
        "list_limit": limit,
        "lists_truncated": truncated,
    }


def preview_page(
    job: ImportJob, *, viewer: User, name: str, page: int, page_size: int
) -> dict[str, object]:
    """One page of one preview list (for previews larger than the list limit)."""
    totals = list_totals(job)
    rows = _collect(job, (name,), offset=(page - 1) * page_size, limit=page_size)[name]
    return {
        "upload_id": str(job.pk),
        "list": name,
        "count": totals[name],
        "page": page,
        "page_size": page_size,
        "pages": max(1, math.ceil(totals[name] / page_size)),
        "results": list_entries(job, name, rows, viewer=viewer),
    }
