"""The rules that give a row of an import its verdict, given the stored users holding its
unique values and the rows before it: invalid, existing duplicate, batch duplicate (first
occurrence wins), to create; with mode update/update_only, a row matching a customer by the
match key is to update (with its per-field changes), unchanged, ambiguous_match, or
needs_review (users.customers.roles.import_refusal). Rows are given in file order, a page at a
time (Classifying); users.imports.classify finds them and reads them. Reads the accounts only
to name them to the viewer."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from users.customers import roles, rules, selectors
from users.customers.rules import CUSTOMER_FIELDS, DUPLICATE_IN_FILE, FieldProblem
from users.imports import clashes
from users.imports.parse import FIELD_LABELS, ImportOptions
from users.imports.stored_rows import Outcome
from users.models import ImportJob, User

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
    key: str | None,
    customer_id: int,
    others: list[tuple[str, selectors.Holder]],
    shown: set[int],
) -> list[FieldProblem]:
    """The row's key names one customer (or the admin chose it: `key` None), its other values
    others: each named by its id only when the job's owner may see it (`shown`,
    roles.visible)."""
    lead = (
        f"The {FIELD_LABELS[key].lower()} matches customer #{customer_id}"
        if key
        else f"The row is to update customer #{customer_id}"
    )
    return [
        FieldProblem(
            name,
            AMBIGUOUS_MATCH,
            f"{lead} and the {FIELD_LABELS[name].lower()} "
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


def refusal_match(*, mode: str, match: str) -> str | None:
    """The match roles.import_refusal weighs a row's customer by (the preview's and the run's):
    the import's match key, or none in a create, whose rows update a customer only when the
    admin chose it for a possible duplicate (users.imports.choices)."""
    return None if mode == ImportJob.Mode.CREATE else match


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


@dataclass
class Classifying:
    """Rows' verdicts as they are found, page after page in file order (the first occurrence
    of a value wins across pages), and the ambiguous rows, explained once all are found."""

    result: Classified = field(default_factory=Classified)
    seen: _FirstRows = field(default_factory=_FirstRows)
    # Each ambiguous row, the customer it is to update, the accounts holding its other values,
    # and whether the admin chose that customer (rather than the match key naming it).
    ambiguous: list[tuple[RowKeys, int, list[tuple[str, selectors.Holder]], bool]] = field(
        default_factory=list
    )

    def add(
        self,
        keys: list[RowKeys],
        values: dict[int, dict[str, Any]],
        held_by: clashes.HeldBy,
        accounts: dict[int, selectors.Stored],
        options: ImportOptions,
        chosen: Mapping[int, int] | None = None,
    ) -> None:
        """These rows' verdicts, given the stored users holding their values (`held_by`, by
        position) and those accounts. `chosen` names, by position, the customer the admin chose
        a row to update (users.imports.choices; among `accounts` unless it was deleted since,
        and then the row is classified as any other)."""
        chosen = chosen or {}
        for k in keys:
            held = held_by.get(k.index, [])
            customer_id = chosen.get(k.index)
            is_chosen = customer_id is not None and customer_id in accounts
            if not is_chosen:
                customer_id = _match(held, options, accounts) if options.updates else None
            if customer_id is None:
                _classify_unmatched(self.result, k, held, self.seen, options)
                continue
            others = [(name, h) for name, h in held if h.id != customer_id]
            if others:
                self.result.set(k, Outcome.AMBIGUOUS)
                self.ambiguous.append((k, customer_id, others, is_chosen))
                continue
            _classify_matched(
                self.result,
                k,
                (customer_id, accounts[customer_id]),
                values[k.index],
                self.seen,
                options,
            )

    def explained(self, *, viewer: User, options: ImportOptions) -> Classified:
        """The verdicts, each ambiguous row with its problems (the other customers named as
        `viewer` may see them)."""
        if self.ambiguous:
            shown = selectors.visible_ids(
                actor=viewer, ids=(h.id for _, _, others, _ in self.ambiguous for _, h in others)
            )
            for k, customer_id, others, is_chosen in self.ambiguous:
                self.result.problems[k.index] = _ambiguous_problems(
                    k, None if is_chosen else options.match, customer_id, others, shown
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
    customer: tuple[int, selectors.Stored],
    new_values: dict[str, Any],
    seen: _FirstRows,
    options: ImportOptions,
) -> None:
    """A row whose match key names one customer, or whose customer the admin chose (and no
    other value another): a batch duplicate when an earlier row matched the same customer,
    refused (needs_review) when the import may not write what it changes, else to update or
    unchanged."""
    customer_id, stored = customer
    problems = _batch_problems(k, seen, (("customer", customer_id),))
    if problems:
        result.set(k, Outcome.BATCH, problems)
        return
    changes = row_changes(stored.fields, new_values, k.given, blank_clears=options.blank_clears)
    refusal = roles.import_refusal(
        stored.target,
        match=refusal_match(mode=options.mode, match=options.match),
        fields=[name for name, _old, _new in changes],
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
