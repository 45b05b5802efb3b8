"""The import preview's table of possible duplicates: each row with whom it resembles and why,
the choice made for it (none yet: it is created on confirm), and buttons to choose: "Create
anyway", "Update customer #N" (only when it resembles a customer the admin may see), "Skip";
and the same three for every possible duplicate at once. Each button posts a form to the
admin's view (no JavaScript needed), which goes through the services the API calls
(users.imports.fixes for one row, users.imports.choices for all); with JavaScript,
users/static/users/admin_import.js saves one row's choice in place through the API."""

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest

from users.errors import ApplicationError
from users.imports import choices, fixes, reports, row_report
from users.models import ImportJob, User


def _state(entry: dict) -> str:
    """What the row is now, as the table says it."""
    choice, outcome = entry["choice"], entry["outcome"]
    if choice is None:
        return "Not decided: created on confirm"
    if choice == "skip":
        return "Skipped"
    said = row_report.outcome_text(outcome)
    if choice == "create":
        return "Create anyway" if outcome == "create" else f"Create anyway: {said}"
    customer = entry["resembles"]["customer_id"]
    target = f"customer #{customer}" if customer else "the customer"
    state = f"Update {target}: {said}"
    if entry["changes"]:
        changed = ", ".join(change["field"] for change in entry["changes"])
        state += f" ({changed})"
    return state + (f". {entry['why']}" if entry["why"] else "")


def choice_rows(job: ImportJob, viewer: User) -> list[dict]:
    """The possible duplicates and the rows a choice was made for (as many as the preview's
    lists carry), each with its state."""
    entries = row_report.choice_entries(
        job, viewer=viewer, limit=settings.IMPORT_PREVIEW_LIST_LIMIT
    )
    return [entry | {"state": _state(entry)} for entry in entries]


def choice_save(request: HttpRequest, job: ImportJob) -> None:
    """Applies the posted choice: to the row named (`row`), or to every possible duplicate;
    says what came of it, or why it was refused."""
    user = request.user
    assert isinstance(user, User)  # the admin site lets only staff this far
    action = request.POST.get("action", "")
    row = request.POST.get("row", "")
    try:
        if row:
            if not row.isdigit():
                raise ApplicationError("validation_error", "No such row.")
            fixed = fixes.row_fix(job=job, row=int(row), body={fixes.ACTION_KEY: action}, user=user)
            outcome = reports.OUTCOME_NAMES[fixed.row.outcome]
            messages.success(request, f"Row {row} is now {row_report.outcome_text(outcome)}.")
            return
        done = choices.possible_duplicates_choose(job=job, action=action, user=user)
    except ApplicationError as error:
        messages.error(request, f"Row {row}: {error.message}" if row else error.message)
        return
    messages.success(request, str(row_report.choice_answer(job, done, viewer=user)["message"]))
