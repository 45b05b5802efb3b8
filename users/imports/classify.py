"""The preview's verdict on each row: invalid, existing duplicate, batch duplicate (first
occurrence wins), to create; with mode update/update_only, a row matching a customer by the
match key is to update (with its per-field changes), unchanged, ambiguous_match, or
needs_review (users.customers.roles.import_refusal). It reads the database (the customers the
rows clash with or match, the marks taken) and writes nothing.

It works on each row's keys (RowKeys), not on its rows: a 100,000-row preview holds these in
memory, its rows on the spool (users.imports.spool)."""

import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from users.customers import roles, rules, selectors
from users.customers.rules import CUSTOMER_FIELDS, DUPLICATE_IN_FILE, FieldProblem
from users.customers.selectors import LOOKUP_CHUNK
from users.imports.marks import marks_chosen
from users.imports.parse import CREATE_ONLY, FIELD_LABELS, ImportOptions, ParsedRow
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
    """What classification needs of a row: its unique values (upper/lower-cased)."""

    index: int
    row: int
    valid: bool
    phone: str | None
    email: str | None
    mark: str | None
    # The base of the mark to generate (`PM KWAME`), for a row that gives none: interned, so
    # the rows of one first name share it; None when the row gives a mark.
    mark_base: str | None
    given: tuple[str, ...] = ()
    create_problems: tuple[FieldProblem, ...] = ()

    def unique_values(self) -> dict[str, str | None]:
        return {"phone": self.phone, "email": self.email, "shipping_mark": self.mark}

    def unique_items(self) -> tuple[tuple[str, str | None], ...]:
        return (("phone", self.phone), ("email", self.email), ("shipping_mark", self.mark))


@dataclass
class Classified:
    """Outcome of every row (by index), the reasons behind duplicates, and generated marks."""

    outcomes: bytearray
    problems: dict[int, list[FieldProblem]] = field(default_factory=dict)
    generated_marks: dict[int, str] = field(default_factory=dict)
    # Rows to update: the customer's id, and [field, old, new] for each field that changes.
    matched: dict[int, int] = field(default_factory=dict)
    changes: dict[int, list[list]] = field(default_factory=dict)

    def count(self, outcome: Outcome) -> int:
        return self.outcomes.count(ord(outcome))

    def set(self, index: int, outcome: Outcome, problems: list[FieldProblem] | None = None) -> None:
        """The row at `index` is `outcome`, for these reasons."""
        self.outcomes[index] = ord(outcome)
        if problems is not None:
            self.problems[index] = problems


def _existing_clashes(keys: list[RowKeys]) -> dict[int, list[tuple[str, selectors.Holder]]]:
    """(field, stored user) for each unique value of a row that a stored user holds: one query
    per LOOKUP_CHUNK rows."""
    found: dict[int, list[tuple[str, selectors.Holder]]] = {}
    for start in range(0, len(keys), LOOKUP_CHUNK):
        chunk = keys[start : start + LOOKUP_CHUNK]
        clashes = selectors.Clashes(k.unique_values() for k in chunk)
        if not clashes:
            continue
        for k in chunk:
            held = clashes.of_keys(k.phone, k.email, k.mark)
            if held:
                found[k.index] = held
    return found


_KEY_OF = {"phone": "phone", "email": "email", "shipping_mark": "mark"}


def _matches_and_clashes(
    keys: list[RowKeys], match: str
) -> tuple[dict[int, list[tuple[str, selectors.Holder]]], dict[int, selectors.Stored]]:
    """For an update: what _existing_clashes finds, and the plain customers the rows match
    (roles.import_refusal: an import never writes another account), by id. First the
    holders of the rows' match keys, with their fields (one query per LOOKUP_CHUNK rows);
    then only the values a row's customer does not hold itself are looked up (a value the
    customer holds is nobody else's: the unique indexes say so), with every value of a row
    that matched no customer. Updating known customers without touching their phone, email or
    mark asks for nothing more."""
    found: dict[int, list[tuple[str, selectors.Holder]]] = {}
    stored: dict[int, selectors.Stored] = {}
    attribute = _KEY_OF[match]
    for start in range(0, len(keys), LOOKUP_CHUNK):
        chunk = keys[start : start + LOOKUP_CHUNK]
        holdings = selectors.holdings_of(
            field=match, keys=[key for k in chunk if (key := getattr(k, attribute))]
        )
        rest: list[tuple[RowKeys, dict, list]] = []
        for k in chunk:
            holding = holdings.get(getattr(k, attribute))
            if holding is None or _not_a_customer(holding.stored.target):
                rest.append((k, k.unique_values(), []))
                continue
            stored[holding.holder.id] = holding.stored
            held = [(match, holding.holder)]
            held_keys = holding.keys
            others = {
                name: key
                for name, key in k.unique_items()
                if key is not None and key != held_keys[name]
            }
            if others:
                rest.append((k, others, held))
            else:
                found[k.index] = held
        if not rest:
            continue
        clashes = selectors.Clashes(values for k, values, held in rest)
        for k, values, held in rest:
            held = held + clashes.of_keys(
                values.get("phone"), values.get("email"), values.get("shipping_mark")
            )
            if held:
                found[k.index] = held
    return found, stored


def _not_a_customer(target: roles.ImportTarget) -> bool:
    """An account no import writes, whatever the row: such a match is a duplicate, as on
    create."""
    refusal = roles.import_refusal(target, match=None, fields=())
    return refusal is not None and refusal.code == roles.NOT_A_CUSTOMER


def _refused(k: RowKeys, refusal: roles.Refusal) -> list[FieldProblem]:
    """A matched row the import may not write (needs_review): listed with the existing
    duplicates, so the preview names the account it matched."""
    return [
        FieldProblem(
            refusal.field, refusal.code, refusal.message, k.unique_values().get(refusal.field, "")
        )
    ]


def row_changes(stored: dict, new: dict, given: Iterable[str], *, blank_clears: bool) -> list[list]:
    """[field, old, new] for each field the row changes: those it gives a value for, and with
    blank_clears the clearable ones it leaves blank. Both sides are normalised by the same rules,
    so an email or mark typed in another case is no change."""
    fields = set(given)
    if blank_clears:
        fields |= set(CLEARABLE_FIELDS)
    changes = []
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
            k.unique_values()[name],
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


def _batch_problems(k: RowKeys, seen: _FirstRows, extra=()) -> list[FieldProblem]:
    pairs = (*k.unique_items(), *extra)
    if not any(value and seen.get(name, value) is not None for name, value in pairs):
        return []  # the common case, without building a problem list
    problems = []
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
            problems.append(FieldProblem(name, DUPLICATE_IN_FILE, message, value))
    return problems


def _match(
    k: RowKeys,
    held: list[tuple[str, selectors.Holder]],
    options: ImportOptions,
    stored: dict[int, dict],
) -> int | None:
    """The id of the customer the row's match key names, if any (None for a staff account:
    an import never updates one, so the row is a duplicate as on create)."""
    for name, holder in held:
        if name == options.match and holder.id in stored:
            return holder.id
    return None


def classify(
    keys: list[RowKeys],
    *,
    viewer: User,
    options: ImportOptions = CREATE_ONLY,
    values_of: Callable[[set[int]], dict[int, dict]] | None = None,
) -> Classified:
    """Invalid, then existing duplicate, then batch duplicate (first occurrence wins), then
    create; blank marks of valid rows are generated (of rows to create first).

    With an update mode, a valid row whose match key a stored customer holds is to update, or
    unchanged when it changes nothing, or ambiguous_match when another of its unique values
    is another customer's (named as `viewer`, the job's owner, may see it), or needs_review
    when roles.import_refusal refuses the change; `values_of(indexes)` gives those rows'
    cleaned values. A row matching nothing is created (update) or reported as no_match
    (update_only)."""
    result = Classified(outcomes=bytearray(ord(Outcome.INVALID) for _ in keys))
    valid = [k for k in keys if k.valid]
    stored: dict[int, selectors.Stored] = {}
    if options.updates:
        existing, stored = _matches_and_clashes(valid, options.match)
    else:
        existing = _existing_clashes(valid)
    matches = {
        k.index: customer_id
        for k in valid
        if options.updates
        and (customer_id := _match(k, existing.get(k.index, []), options, stored)) is not None
    }
    new_values = values_of(set(matches)) if matches and values_of is not None else {}
    seen = _FirstRows()
    ambiguous: list[tuple[RowKeys, int, list[tuple[str, selectors.Holder]]]] = []
    for k in valid:
        held = existing.get(k.index, [])
        customer_id = matches.get(k.index)
        if customer_id is None:
            _classify_unmatched(result, k, held, seen, options)
            continue
        others = [(name, h) for name, h in held if h.id != customer_id]
        if others:
            result.outcomes[k.index] = ord(Outcome.AMBIGUOUS)
            ambiguous.append((k, customer_id, others))
            continue
        _classify_matched(
            result, k, customer_id, stored[customer_id], new_values[k.index], seen, options
        )
    if ambiguous:
        shown = selectors.visible_ids(
            actor=viewer, ids=(h.id for _, _, others in ambiguous for _, h in others)
        )
        for k, customer_id, others in ambiguous:
            result.problems[k.index] = _ambiguous_problems(
                k, options.match, customer_id, others, shown
            )
    _choose_marks(result, keys, valid)
    return result


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
    new_values: dict,
    seen: _FirstRows,
    options: ImportOptions,
) -> None:
    """A row whose match key names one customer (and no other value another): a batch
    duplicate when an earlier row matched the same customer, refused (needs_review) when the
    import may not write what it changes, else to update or unchanged."""
    problems = _batch_problems(k, seen, (("customer", customer_id),))
    if problems:
        result.set(k.index, Outcome.BATCH, problems)
        return
    changes = row_changes(stored.fields, new_values, k.given, blank_clears=options.blank_clears)
    refusal = roles.import_refusal(
        stored.target, match=options.match, fields=[name for name, _old, _new in changes]
    )
    if refusal is not None:
        result.set(k.index, Outcome.EXISTING, _refused(k, refusal))
        return
    result.matched[k.index] = customer_id
    if changes:
        result.set(k.index, Outcome.UPDATE)
        result.changes[k.index] = changes
    else:
        result.set(k.index, Outcome.UNCHANGED)
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
        result.set(k.index, Outcome.EXISTING, rules.duplicate_problems(k.unique_values(), held))
        return
    if options.mode == ImportJob.Mode.UPDATE_ONLY:
        label = FIELD_LABELS[options.match].lower()
        value = k.unique_values()[options.match] or ""
        message = f"No customer has this {label}." if value else f"The row has no {label}."
        problem = FieldProblem(options.match, NO_MATCH_CODE, message, value)
        result.set(k.index, Outcome.NO_MATCH, [problem])
        return
    if k.create_problems:
        result.set(k.index, Outcome.INVALID, list(k.create_problems))
        return
    problems = _batch_problems(k, seen)
    if problems:
        result.set(k.index, Outcome.BATCH, problems)
        return
    result.set(k.index, Outcome.CREATE)
    _remember(seen, k)


def _choose_marks(result: Classified, keys: list[RowKeys], valid: list[RowKeys]) -> None:
    """Rows to create get their marks first; duplicates after them, only to show the mark they
    would have had (they take none from a row that is created). A matched row keeps the
    customer's mark."""
    needing = [k for k in valid if result.outcomes[k.index] == ord(Outcome.CREATE) and not k.mark]
    needing += [
        k
        for k in valid
        if result.outcomes[k.index] in (ord(Outcome.EXISTING), ord(Outcome.BATCH))
        and k.index not in result.matched
        and not k.mark
        and not k.create_problems
    ]
    if needing:
        result.generated_marks = marks_chosen(
            [(k.index, k.mark_base) for k in needing if k.mark_base is not None],
            reserved={k.mark for k in keys if k.mark},
        )


def keys_of(index: int, parsed: ParsedRow) -> RowKeys:
    values = parsed.values
    mark = selectors.unique_key("shipping_mark", values.get("shipping_mark"))
    return RowKeys(
        index=index,
        row=parsed.row,
        valid=not parsed.problems,
        phone=selectors.unique_key("phone", values.get("phone")),
        email=selectors.unique_key("email", values.get("email")),
        mark=mark,
        mark_base=(
            None
            if mark
            else sys.intern(rules.shipping_mark_base(str(values.get("first_name") or "")))
        ),
        given=_interned(parsed.given),
        create_problems=tuple(parsed.create_problems),
    )


_GIVEN: dict[tuple[str, ...], tuple[str, ...]] = {}


def _interned(given: tuple[str, ...]) -> tuple[str, ...]:
    """One tuple for each set of given fields (most rows of a file give the same ones)."""
    return _GIVEN.setdefault(given, given)
