"""The preview's verdict on each row: invalid, existing duplicate, batch duplicate (first
occurrence wins), to create; with mode update/update_only, a row matching a customer by the
match key is to update (with its per-field changes), unchanged, ambiguous_match, or
needs_review (users.customers.roles.import_refusal). It reads the database (the staged rows,
the customers they clash with or match, the marks taken) and writes nothing.

Every row was staged with the verdict it has when nothing clashes (users.imports.preview:
`provisional`); SQL names the rows that may need another (users.imports.clashes: those holding
a stored user's value, and those sharing a value with another row of the file), and only those
are read back and classified here, in file order, by the rules below."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, cast
from uuid import UUID

from django.db.models import Max

from users.customers import roles, rules, selectors
from users.customers.rules import CUSTOMER_FIELDS, DUPLICATE_IN_FILE, FieldProblem
from users.imports import clashes
from users.imports.marks import marks_chosen
from users.imports.parse import CREATE_ONLY, FIELD_LABELS, ImportOptions
from users.imports.stored_rows import OUTCOMES, Outcome
from users.models import ImportJob, ImportStagedRow, User

AMBIGUOUS_MATCH = "ambiguous_match"


NO_MATCH_CODE = "no_match"


# Fields a blank cell erases when the admin asks for it (blank_clears); the others always hold a
# value (names, phone, mark) or have a default (region, customer type), so a blank cell never
# changes them.
CLEARABLE_FIELDS = ("email", "company_name", "nickname")


@dataclass(slots=True)
class RowKeys:
    """What classification needs of a valid row: its unique values (as the unique indexes
    compare them), the fields it gives, and what it lacks to be created."""

    index: int  # the row's position
    row: int
    phone: str | None
    email: str | None
    mark: str | None
    given: tuple[str, ...] = ()
    create_problems: tuple[FieldProblem, ...] = ()

    def unique_values(self) -> dict[str, str | None]:
        return {"phone": self.phone, "email": self.email, "shipping_mark": self.mark}

    def unique_items(self) -> tuple[tuple[str, str | None], ...]:
        return (("phone", self.phone), ("email", self.email), ("shipping_mark", self.mark))


@dataclass
class Classified:
    """The verdict of each row classified here (by position; the others keep the one they were
    staged with), the reasons behind it, and the marks chosen."""

    outcomes: dict[int, Outcome] = field(default_factory=dict)
    problems: dict[int, list[FieldProblem]] = field(default_factory=dict)
    generated_marks: dict[int, str] = field(default_factory=dict)
    # Rows to update: the customer's id, and [field, old, new] for each field that changes.
    matched: dict[int, int] = field(default_factory=dict)
    changes: dict[int, list[list[Any]]] = field(default_factory=dict)
    # The number in the file of each row classified, by position.
    source_rows: dict[int, int] = field(default_factory=dict)

    def set(
        self, k: "RowKeys", outcome: Outcome, problems: list[FieldProblem] | None = None
    ) -> None:
        """The row `k` is `outcome`, for these reasons."""
        self.outcomes[k.index] = outcome
        self.source_rows[k.index] = k.row
        if problems is not None:
            self.problems[k.index] = problems


# Valid rows of an update that lack what a create needs: position -> (row, problems).
CreateProblems = dict[int, tuple[int, list[FieldProblem]]]


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


def _not_a_customer(target: roles.ImportTarget) -> bool:
    """An account no import writes, whatever the row: such a match is a duplicate, as on
    create."""
    refusal = roles.import_refusal(target, match=None, fields=())
    return refusal is not None and refusal.code == roles.NOT_A_CUSTOMER


def _refused(k: RowKeys, refusal: roles.Refusal) -> list[FieldProblem]:
    """A matched row the import may not write (needs_review): listed with the existing
    duplicates, so the preview names the account it matched."""
    # The refused field is none (""), the match key or a field the row changes: the row holds it.
    value = cast(str, k.unique_values().get(refusal.field, ""))
    return [FieldProblem(refusal.field, refusal.code, refusal.message, value)]


def row_changes(
    stored: dict[str, Any], new: dict[str, Any], given: Iterable[str], *, blank_clears: bool
) -> list[list[Any]]:
    """[field, old, new] for each field the row changes: those it gives a value for, and with
    blank_clears the clearable ones it leaves blank. Both sides are normalised by the same rules,
    so an email or mark typed in another case is no change."""
    fields = set(given)
    if blank_clears:
        fields |= set(CLEARABLE_FIELDS)
    changes: list[list[Any]] = []
    for name in CUSTOMER_FIELDS:
        if name not in fields or name not in new:
            continue
        old, value = stored.get(name), new[name]
        if name in CLEARABLE_FIELDS and not value:
            value = None if name == "email" else ""
        if old == value or (not old and not value):
            continue
        changes.append([name, old, value])
    return changes


def _ambiguous_problems(
    k: RowKeys,
    key: str,
    customer_id: int,
    others: list[tuple[str, selectors.Holder]],
    shown: set[int],
) -> list[FieldProblem]:
    """The row's key names one customer, its other values others: each named by its id only
    when the job's owner may see it (`shown`, roles.visible)."""
    key_label = FIELD_LABELS[key].lower()
    return [
        FieldProblem(
            name,
            AMBIGUOUS_MATCH,
            f"The {key_label} matches customer #{customer_id} and the "
            f"{FIELD_LABELS[name].lower()} "
            + (f"customer #{holder.id}" if holder.id in shown else "another account")
            + ": fix the row.",
            cast(str, k.unique_values()[name]),  # a value another account holds: not None
        )
        for name, holder in others
    ]


class _FirstRows:
    """The row that first gave each unique value, and in an update the row that first matched
    each customer. One dict per kind, keyed by the value itself (which the rows' keys already
    hold): one dict keyed by (kind, value) built a tuple for each of a file's values, the
    largest part of a 100,000-row preview's peak after the keys."""

    def __init__(self) -> None:
        self._rows: dict[str, dict[object, int]] = {}

    def get(self, name: str, value: object) -> int | None:
        rows = self._rows.get(name)
        return None if rows is None else rows.get(value)

    def add(self, name: str, value: object, row: int) -> None:
        self._rows.setdefault(name, {})[value] = row


def _batch_problems(
    k: RowKeys, seen: _FirstRows, extra: tuple[tuple[str, object], ...] = ()
) -> list[FieldProblem]:
    pairs = (*k.unique_items(), *extra)
    if not any(value and seen.get(name, value) is not None for name, value in pairs):
        return []  # the common case, without building a problem list
    problems: list[FieldProblem] = []
    for name, value in pairs:
        first = seen.get(name, value) if value else None
        if first is not None:
            if name == "customer":
                if problems:
                    continue  # a value the rows share says it already
                message = f"Matches the same customer as row {first}."
                name, value = "", ""
            else:
                message = f"Same {FIELD_LABELS[name].lower()} as row {first}."
            problems.append(FieldProblem(name, DUPLICATE_IN_FILE, message, str(value)))
    return problems


def _match(
    held: list[tuple[str, selectors.Holder]],
    options: ImportOptions,
    accounts: dict[int, selectors.Stored],
) -> int | None:
    """The id of the customer the row's match key names, if any (None for an account that is
    not a plain customer: an import never updates one, so the row is a duplicate as on
    create)."""
    for name, holder in held:
        if name == options.match and not _not_a_customer(accounts[holder.id].target):
            return holder.id
    return None


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
    classifying = _Classifying()
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
) -> Classified:
    """The verdicts of the valid staged rows at these positions alone, by the rules of
    classify: for rows that share no unique value with any other row of the job (a fixed row
    and every row linked to it by a shared value, users.imports.fixes), this is what classify
    would find for them. Their holders are looked up by the unique indexes (one query); marks
    are not chosen here."""
    keys, values = _staged_keys(job_id, positions, create_problems or {})
    clashing = selectors.Clashes(k.unique_values() for k in keys)
    held_by = {k.index: held for k in keys if (held := clashing.of_keys(k.phone, k.email, k.mark))}
    accounts = selectors.customer_fields_of(
        ids={holder.id for held in held_by.values() for _, holder in held}
    )
    classifying = _Classifying()
    classifying.add(keys, values, held_by, accounts, options)
    return classifying.explained(viewer=viewer, options=options)


@dataclass
class _Classifying:
    """Rows' verdicts as they are found, page after page in file order (the first occurrence
    of a value wins across pages), and the ambiguous rows, explained once all are found."""

    result: Classified = field(default_factory=Classified)
    seen: _FirstRows = field(default_factory=_FirstRows)
    ambiguous: list[tuple[RowKeys, int, list[tuple[str, selectors.Holder]]]] = field(
        default_factory=list
    )

    def add(
        self,
        keys: list[RowKeys],
        values: dict[int, dict[str, Any]],
        held_by: clashes.HeldBy,
        accounts: dict[int, selectors.Stored],
        options: ImportOptions,
    ) -> None:
        """These rows' verdicts, given the stored users holding their values (`held_by`, by
        position) and those accounts."""
        for k in keys:
            held = held_by.get(k.index, [])
            customer_id = _match(held, options, accounts) if options.updates else None
            if customer_id is None:
                _classify_unmatched(self.result, k, held, self.seen, options)
                continue
            others = [(name, h) for name, h in held if h.id != customer_id]
            if others:
                self.result.set(k, Outcome.AMBIGUOUS)
                self.ambiguous.append((k, customer_id, others))
                continue
            _classify_matched(
                self.result,
                k,
                customer_id,
                accounts[customer_id],
                values[k.index],
                self.seen,
                options,
            )

    def explained(self, *, viewer: User, options: ImportOptions) -> Classified:
        """The verdicts, each ambiguous row with its problems (the other customers named as
        `viewer` may see them)."""
        if self.ambiguous:
            shown = selectors.visible_ids(
                actor=viewer, ids=(h.id for _, _, others in self.ambiguous for _, h in others)
            )
            for k, customer_id, others in self.ambiguous:
                self.result.problems[k.index] = _ambiguous_problems(
                    k, options.match, customer_id, others, shown
                )
        return self.result


def _remember(seen: _FirstRows, k: RowKeys) -> None:
    """The row's unique values, for the rows after it to be found duplicates of."""
    for name, value in k.unique_items():
        if value:
            seen.add(name, value, k.row)


def _classify_matched(
    result: Classified,
    k: RowKeys,
    customer_id: int,
    stored: selectors.Stored,
    new_values: dict[str, Any],
    seen: _FirstRows,
    options: ImportOptions,
) -> None:
    """A row whose match key names one customer (and no other value another): a batch
    duplicate when an earlier row matched the same customer, refused (needs_review) when the
    import may not write what it changes, else to update or unchanged."""
    problems = _batch_problems(k, seen, (("customer", customer_id),))
    if problems:
        result.set(k, Outcome.BATCH, problems)
        return
    changes = row_changes(stored.fields, new_values, k.given, blank_clears=options.blank_clears)
    refusal = roles.import_refusal(
        stored.target, match=options.match, fields=[name for name, _old, _new in changes]
    )
    if refusal is not None:
        result.set(k, Outcome.EXISTING, _refused(k, refusal))
        return
    result.matched[k.index] = customer_id
    if changes:
        result.set(k, Outcome.UPDATE)
        result.changes[k.index] = changes
    else:
        result.set(k, Outcome.UNCHANGED)
    seen.add("customer", customer_id, k.row)
    _remember(seen, k)


def _classify_unmatched(
    result: Classified,
    k: RowKeys,
    held: list[tuple[str, selectors.Holder]],
    seen: _FirstRows,
    options: ImportOptions,
) -> None:
    """A row that matches no customer: an existing duplicate when a stored account holds one
    of its values, no_match in update_only, invalid when it lacks what a create needs, a batch
    duplicate of an earlier row, else to create."""
    if held:
        result.set(k, Outcome.EXISTING, rules.duplicate_problems(k.unique_values(), held))
        return
    if options.mode == ImportJob.Mode.UPDATE_ONLY:
        # Its reason is written with every other no_match row's (users.imports.store).
        result.set(k, Outcome.NO_MATCH)
        return
    if k.create_problems:
        result.set(k, Outcome.INVALID, list(k.create_problems))
        return
    problems = _batch_problems(k, seen)
    if problems:
        result.set(k, Outcome.BATCH, problems)
        return
    result.set(k, Outcome.CREATE)
    _remember(seen, k)


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
