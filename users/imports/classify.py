"""The preview's verdict on each row, by the rules of users.imports.classify_rules. It reads
the database (the staged rows, the customers they clash with or match, the marks taken) and
writes nothing.

Every row was staged with the verdict it has when nothing clashes (users.imports.preview:
`provisional`); SQL names the rows that may need another (users.imports.clashes: those holding
a stored user's value, and those sharing a value with another row of the file), and only those
are read back and classified, in file order, a page at a time."""

from collections.abc import Mapping
from typing import Any, cast
from uuid import UUID

from django.db.models import Max

from users.customers import rules, selectors
from users.customers.rules import CUSTOMER_FIELDS
from users.imports import clashes
from users.imports.classify_rules import Classified, Classifying, CreateProblems, RowKeys
from users.imports.marks import marks_chosen
from users.imports.parse import CREATE_ONLY, ImportOptions
from users.imports.stored_rows import OUTCOMES, Outcome
from users.models import ImportStagedRow, User

# Staged columns read back for a row to classify: its keys, then its fields.
_KEY_COLUMNS = ("position", "source_row", "phone", "email_key", "mark_key", "given")


# Staged rows classified at a time: the customers they match and their keys are held for one
# page, not for the whole file. An update of 10,000 rows held them all at once (27 MB at its
# peak against 6 MB for a create; the web worker's RSS grew 13 MB), which counts towards the
# worker's replacement (gunicorn_config.MAX_WORKER_GROWTH_MB), after which the next request
# waits for a new worker to start. Pages of 1,000: the RSS grew 6 MB (11 MB with 2,000).
CLASSIFY_PAGE_ROWS = 1000


def _staged_end(job_id: UUID) -> int:
    """One past the last staged row's position (0 when nothing is staged)."""
    last = ImportStagedRow.objects.filter(job_id=job_id).aggregate(last=Max("position"))["last"]
    return 0 if last is None else int(last) + 1


def _staged_keys(
    job_id: UUID,
    positions: set[int],
    create_problems: CreateProblems,
    *,
    start: int = 0,
    end: int | None = None,
) -> tuple[list[RowKeys], dict[int, dict[str, Any]]]:
    """The keys of the valid staged rows at these positions (from `start` to `end`, not
    included), in file order, and each one's fields by position (an update compares them with
    its customer's)."""
    rows = ImportStagedRow.objects.filter(job_id=job_id, valid=True, position__gte=start).order_by(
        "position"
    )
    if end is not None:
        rows = rows.filter(position__lt=end)
    if len(positions) < 1000:
        rows = rows.filter(position__in=sorted(positions))
    keys: list[RowKeys] = []
    values: dict[int, dict[str, Any]] = {}
    for staged in rows.values_list(*_KEY_COLUMNS, *CUSTOMER_FIELDS).iterator(2000):
        position = staged[0]
        if position not in positions:
            continue
        keys.append(
            RowKeys(
                index=position,
                row=staged[1],
                phone=staged[2] or None,
                email=staged[3],
                mark=staged[4],
                given=_interned(staged[5]),
                create_problems=tuple(create_problems[position][1])
                if position in create_problems
                else (),
            )
        )
        values[position] = dict(zip(CUSTOMER_FIELDS, staged[len(_KEY_COLUMNS) :], strict=True))
    return keys, values


def classify(
    job_id: UUID,
    *,
    viewer: User,
    options: ImportOptions = CREATE_ONLY,
    create_problems: CreateProblems | None = None,
) -> Classified:
    """The verdicts of the job's staged rows that may need one other than the one they were
    staged with: invalid, then existing duplicate, then batch duplicate (first occurrence
    wins), then create; blank marks of valid rows are generated (of rows to create first).

    With an update mode, a valid row whose match key a stored customer holds is to update, or
    unchanged when it changes nothing, or ambiguous_match when another of its unique values
    is another customer's (named as `viewer`, the job's owner, may see it), or needs_review
    when roles.import_refusal refuses the change. A row matching nothing is created (update)
    or reported as no_match (update_only). `create_problems` holds, by position, what valid
    rows of an update lack to be created (with their numbers in the file)."""
    create_problems = create_problems or {}
    anchor = options.match if options.updates else "phone"
    shared = clashes.shared_in_file(job_id)
    classifying = Classifying()
    for start in range(0, _staged_end(job_id), CLASSIFY_PAGE_ROWS):
        end = start + CLASSIFY_PAGE_ROWS
        held_by, accounts = clashes.stored_holders(job_id, anchor=anchor, start=start, end=end)
        wanted = set(held_by) | {position for position in shared if start <= position < end}
        keys, values = _staged_keys(job_id, wanted, create_problems, start=start, end=end)
        classifying.add(keys, values, held_by, accounts, options)
    result = classifying.explained(viewer=viewer, options=options)
    _choose_marks(job_id, result, create_problems)
    return result


def classify_rows(
    job_id: UUID,
    positions: set[int],
    *,
    viewer: User,
    options: ImportOptions = CREATE_ONLY,
    create_problems: CreateProblems | None = None,
    chosen: Mapping[int, int] | None = None,
) -> Classified:
    """The verdicts of the valid staged rows at these positions alone, by the rules of
    classify: for rows that share no unique value with any other row of the job (a fixed row
    and every row linked to it by a shared value, users.imports.reclassify), this is what
    classify would find for them. `chosen` names the customer each row the admin chose to
    update is matched to (users.imports.choices). Their holders are looked up by the unique
    indexes (one query); marks are not chosen here."""
    chosen = chosen or {}
    keys, values = _staged_keys(job_id, positions, create_problems or {})
    clashing = selectors.Clashes(k.unique_values() for k in keys)
    held_by = {k.index: held for k in keys if (held := clashing.of_keys(k.phone, k.email, k.mark))}
    accounts = selectors.customer_fields_of(
        ids={holder.id for held in held_by.values() for _, holder in held} | set(chosen.values())
    )
    classifying = Classifying()
    classifying.add(keys, values, held_by, accounts, options, chosen)
    return classifying.explained(viewer=viewer, options=options)


def _choose_marks(job_id: UUID, result: Classified, create_problems: CreateProblems) -> None:
    """Rows to create that give no mark get one first; duplicates after them, only to show the
    mark they would have had (they take none from a row that is created). A matched row keeps
    the customer's mark."""
    staged = ImportStagedRow.objects.filter(job_id=job_id, valid=True, mark_key__isnull=True)
    creates: list[tuple[int, str]] = []
    duplicates: list[tuple[int, str]] = []
    for position, first_name, letter in staged.order_by("position").values_list(
        "position", "first_name", "outcome"
    ):
        outcome = result.outcomes.get(position) or OUTCOMES[letter]
        if outcome == Outcome.CREATE:
            creates.append((position, _mark_base(first_name)))
        elif outcome in (Outcome.EXISTING, Outcome.BATCH) and position not in create_problems:
            duplicates.append((position, _mark_base(first_name)))
    if creates or duplicates:
        reserved = set(
            ImportStagedRow.objects.filter(job_id=job_id, mark_key__isnull=False).values_list(
                "mark_key", flat=True
            )
        )
        result.generated_marks = marks_chosen(
            creates + duplicates,
            reserved=cast("set[str]", reserved),  # no NULL: isnull=False
        )


_BASES: dict[str, str] = {}


def _mark_base(first_name: str | None) -> str:
    """The base of the mark to generate for a first name (`PM KWAME`), one string for each
    name (most rows of a file share a few)."""
    name = first_name or ""
    base = _BASES.get(name)
    if base is None:
        base = _BASES.setdefault(name, rules.shipping_mark_base(name))
    return base


_GIVEN: dict[str, tuple[str, ...]] = {}


def _interned(given: str) -> tuple[str, ...]:
    """The fields a row gives, as staged ("first_name,phone"): one tuple for each set (most
    rows of a file give the same ones)."""
    found = _GIVEN.get(given)
    if found is None:
        found = _GIVEN.setdefault(given, tuple(given.split(",")) if given else ())
    return found
