"""One row of a preview as the row endpoint and a fix's answer show it: what it is now (its
outcome, fields, problems, the cells as they stand) and its history of fixes."""

from users.customers import selectors
from users.imports import fixes, reports
from users.imports.stored_rows import StoredRow
from users.models import ImportJob, ImportRowFix, User


def history_json(history: list[ImportRowFix], *, viewer: User) -> list[dict[str, object]]:
    """Each fix of a row, oldest first; who made it named only if `viewer` may see them."""
    shown = selectors.visible_ids(actor=viewer, ids=(fix.changed_by_id for fix in history))
    names = {
        user.pk: user.get_full_name() or user.phone
        for user in User.objects.filter(pk__in=shown).only("first_name", "last_name", "phone")
    }
    return [
        {
            "action": fix.action,
            "field": fix.field,
            "old": fix.old,
            "new": fix.new,
            "changed_by": {"id": fix.changed_by_id, "name": names[fix.changed_by_id]}
            if fix.changed_by_id in names
            else None,
            "changed_at": fix.changed_at,
        }
        for fix in history
    ]


def row_json(job: ImportJob, row: StoredRow, *, viewer: User) -> dict[str, object]:
    """The row as it is now, with its history."""
    row_errors = reports.errors_by_row(job, {row.source_row}).get(row.source_row, [])
    history = fixes.row_history(job, [row.position]).get(row.position, [])
    return {
        "source_row_number": row.source_row,
        "outcome": fixes.OUTCOME_NAMES[row.outcome],
        "fields": row.candidate(),
        "raw_data": reports.raw_data(job, row.raw),
        "reason": reports.reason(row_errors),
        "errors": [reports.error_json(e) for e in row_errors],
        "customer_id": row.customer_id,
        "changes": [{"field": field, "old": old, "new": new} for field, old, new in row.changes],
        "history": history_json(history, viewer=viewer),
    }


def fix_answer(job: ImportJob, fixed: fixes.RowFixed, *, viewer: User) -> dict[str, object]:
    """A fix's answer: the row now, the other rows whose verdict it changed, and the preview's
    new counts."""
    job.refresh_from_db()
    row = row_json(job, fixed.row, viewer=viewer)
    return {
        "success": True,
        "message": f"Row {row['source_row_number']} is now {outcome_text(str(row['outcome']))}. "
        + reports.preview_message(job),
        "upload_id": str(job.pk),
        "row": row,
        "rows_changed": [
            {"source_row_number": number, "outcome": fixes.OUTCOME_NAMES[outcome]}
            for number, outcome in sorted(fixed.others.items())
        ],
        "summary": reports.summary(job),
    }


_OUTCOME_TEXTS = {
    "create": "to create",
    "invalid": "invalid",
    "existing": "already a customer",
    "batch": "repeated in the file",
    "update": "to update",
    "unchanged": "unchanged",
    "ambiguous": "matching two customers",
    "no_match": "matching no customer",
    "skipped": "skipped",
    "possible_duplicates": "to create, a possible duplicate",
}


def outcome_text(name: str) -> str:
    """An outcome as a sentence says it ("to create", "repeated in the file")."""
    return _OUTCOME_TEXTS[name]
