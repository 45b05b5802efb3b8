"""Near-duplicates: the rows of an import that clash with nobody exactly (phone, email and mark
are unique, and the preview reports those clashes itself) but look like a customer already
stored, or like an earlier row of the same file, entered again with a slip: the same names with
a phone one digit apart, the same names with the same email before the @, first and last names
swapped, the same company with the same phone ending. For each such row: whom it resembles, and
why, as a stable reason code and a sentence (docs/importing.md, "Near-duplicates").

Candidates come from the database by blocking keys (users.imports.resemblance_keys), computed
by the database over the job's staged rows: customers through an expression index per key that
SQLite and Postgres both use (users.models: PHONE_WITHOUT_BLOCK, EMAIL_LOCAL_PART), earlier rows
by grouping the staged rows on the same keys. Neither reads every customer, and the file's keys
are never held in Python. The rules then compare each row with its candidates in Python, where
names can be folded (accents, case, spaces, hyphens) as no portable SQL can.

Reads the database (the job's staged rows, the customers), writes nothing: the preview stores
what it finds (users.imports.store). After a change of the preview, near_duplicates_among
compares the few rows it moved alone (users.imports.rechecks).
"""

import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from users.imports.resemblance_keys import (
    BLOCK_LIMIT,
    Key,
    customers_resembling,
    earlier_rows_sharing_a_key,
    email_local_part,
    row_keys,
    rows_holding,
)
from users.imports.stored_rows import Outcome, StoredRows
from users.models import User

PHONE_ONE_DIGIT_APART = "phone_one_digit_apart"
PHONE_DIGITS_SWAPPED = "phone_digits_swapped"
NAMES_SWAPPED = "names_swapped"
SAME_EMAIL_LOCAL_PART = "same_email_local_part"
SAME_COMPANY_PHONE_TAIL = "same_company_phone_tail"

# Strongest first: when a row resembles several customers or rows, the first rule that holds
# for one of them is the one reported (bench/bench_near_duplicates.py measures each).
REASONS = (
    PHONE_ONE_DIGIT_APART,
    PHONE_DIGITS_SWAPPED,
    NAMES_SWAPPED,
    SAME_EMAIL_LOCAL_PART,
    SAME_COMPANY_PHONE_TAIL,
)

# What each phone slip is called in a message.
_ONE_DIGIT = "the phone differs by one digit from {}'s"
_SWAPPED_DIGITS = "the phone is {}'s with two neighbouring digits swapped"
_SAME_LOCAL_PART = "the email is {}'s before the @, at another domain"

MESSAGES = {
    PHONE_ONE_DIGIT_APART: "Same names; " + _ONE_DIGIT + ".",
    PHONE_DIGITS_SWAPPED: "Same names; " + _SWAPPED_DIGITS + ".",
    SAME_EMAIL_LOCAL_PART: "Same names; " + _SAME_LOCAL_PART + ".",
    NAMES_SWAPPED: "First and last names swapped; {}.",
    SAME_COMPANY_PHONE_TAIL: "Same company; the phone ends in the same {} digits as {}'s.",
}

# The digits two phones of one company must end alike: what stays when an operator's prefix
# was mistyped (024 for 054) or the number was ported.
COMPANY_PHONE_TAIL = 7

# Rows with a candidate read and compared at a time (with their candidates).
CHUNK_ROWS = 500

# Words a company's name may carry or drop without being another company.
_LEGAL_FORMS = frozenset({"co", "company", "inc", "limited", "llc", "ltd", "plc"})


@dataclass(frozen=True, slots=True)
class Resemblance:
    """Whom a row resembles: a stored customer (customer_id) or an earlier row (row, its
    position); reason is one of REASONS, message says it to a person."""

    position: int
    reason: str
    message: str
    customer_id: int | None = None
    row: int | None = None


_NOT_ASCII_ALNUM = re.compile("[^0-9a-z]+")


# Names repeat (a file of 10,000 rows holds a few hundred first names): each is folded once.
@functools.lru_cache(maxsize=8192)
def fold(text: str) -> str:
    """A name as compared here: compatibility forms and accents undone, case folded, and
    nothing but letters and digits kept (`Adjoa-Mensah` is `adjoamensah`, `José` is `jose`)."""
    if text.isascii():
        return _NOT_ASCII_ALNUM.sub("", text.lower())
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if char.isalnum()).casefold()


@functools.lru_cache(maxsize=8192)
def fold_company(text: str) -> str:
    """A company's name folded word by word, without its legal form (`Mensah Trading Ltd.` is
    `mensahtrading`)."""
    words = "".join(
        char if char.isalnum() else " " for char in unicodedata.normalize("NFKD", text)
    ).split()
    kept = [word.casefold() for word in words]
    while kept and kept[-1] in _LEGAL_FORMS:
        kept.pop()
    return "".join(kept)


_DIGIT = re.compile("[0-9]")


def _telling_local_part(email: str | None, first: str, last: str) -> str | None:
    """The email's local part when it says more than the names (`kwame.mensah85`, `kmensah`),
    else None: every Kwame Mensah wants `kwame.mensah`, at one provider or another."""
    local_part = email_local_part(email)
    if local_part is None or _DIGIT.search(local_part):
        return local_part
    folded, first, last = fold(local_part), fold(first), fold(last)
    return None if folded in (first + last, last + first) else local_part


@dataclass(slots=True)
class _Person:
    """A customer or a row with a candidate: its values as given. Names and company are folded
    only when compared, each text once (fold's cache)."""

    customer_id: int | None
    position: int | None  # a row's number in the file (as the preview shows it)
    first_name: str
    last_name: str
    phone: str
    email: str | None
    local_part: str | None
    company_name: str
    mark: str | None

    @classmethod
    def of(
        cls,
        *,
        first_name: str,
        last_name: str,
        phone: str,
        email: str | None,
        company_name: str,
        mark: str | None,
        customer_id: int | None = None,
        position: int | None = None,
    ) -> "_Person":
        return cls(
            customer_id=customer_id,
            position=position,
            first_name=first_name,
            last_name=last_name,
            phone=phone,
            email=email or None,
            local_part=_telling_local_part(email, first_name, last_name),
            company_name=company_name or "",
            mark=mark.upper() if mark else None,
        )

    @classmethod
    def of_staged(cls, staged: tuple[Any, ...]) -> "_Person":
        """A staged row to create (every field it needs is valid), as read in STAGED_COLUMNS
        after its position, by its number in the file."""
        _, source_row, first_name, last_name, phone, email, company_name, mark = staged
        return cls.of(
            first_name=first_name or "",
            last_name=last_name or "",
            phone=phone,
            email=email,
            company_name=company_name or "",
            mark=mark,
            position=source_row,
        )

    def names(self) -> tuple[str, str]:
        """First and last name, folded."""
        return fold(self.first_name), fold(self.last_name)

    def target(self) -> str:
        return f"customer #{self.customer_id}" if self.customer_id else f"row {self.position}"


def _phone_slip(a: str, b: str) -> str | None:
    """PHONE_ONE_DIGIT_APART or PHONE_DIGITS_SWAPPED when the two phones differ by that slip
    alone, else None."""
    if len(a) != len(b):
        return None
    differ = [n for n in range(len(a)) if a[n] != b[n]]
    if len(differ) == 1:
        return PHONE_ONE_DIGIT_APART
    if len(differ) == 2:
        i, j = differ
        if j == i + 1 and a[i] == b[j] and a[j] == b[i]:
            return PHONE_DIGITS_SWAPPED
    return None


def _clash_exactly(row: _Person, other: _Person) -> bool:
    """The same phone, email or mark: a duplicate the preview reports itself."""
    return (
        row.phone == other.phone
        or (row.email is not None and row.email == other.email)
        or (row.mark is not None and row.mark == other.mark)
    )


def _verdict(row: _Person, other: _Person) -> tuple[str, str] | None:
    """(reason, message) when `row` resembles `other`, by the first rule of REASONS that
    holds; None when no rule does or when the two clash exactly."""
    if _clash_exactly(row, other):
        return None
    target = other.target()
    slip = _phone_slip(row.phone, other.phone)
    same_local_part = row.local_part is not None and row.local_part == other.local_part
    (first, last), (other_first, other_last) = row.names(), other.names()
    named = bool(first and last)
    if named and first == other_first and last == other_last:
        if slip:
            return slip, MESSAGES[slip].format(target)
        if same_local_part:
            return SAME_EMAIL_LOCAL_PART, MESSAGES[SAME_EMAIL_LOCAL_PART].format(target)
    if named and first == other_last and last == other_first:
        link = (
            _ONE_DIGIT
            if slip == PHONE_ONE_DIGIT_APART
            else _SWAPPED_DIGITS
            if slip
            else _SAME_LOCAL_PART
            if same_local_part
            else None
        )
        if link:
            return NAMES_SWAPPED, MESSAGES[NAMES_SWAPPED].format(link.format(target))
    if (
        row.phone[-COMPANY_PHONE_TAIL:] == other.phone[-COMPANY_PHONE_TAIL:]
        and (company := fold_company(row.company_name))
        and company == fold_company(other.company_name)
    ):
        message = MESSAGES[SAME_COMPANY_PHONE_TAIL].format(COMPANY_PHONE_TAIL, target)
        return SAME_COMPANY_PHONE_TAIL, message
    return None


# What is compared of a person, customer or staged row, in _Person's order.
_PERSON_COLUMNS = ("first_name", "last_name", "phone", "email", "company_name", "shipping_mark")
# What is read of a candidate customer.
_CUSTOMER_COLUMNS = ("id", *_PERSON_COLUMNS)


def _customers(ids: Iterable[int]) -> dict[int, _Person]:
    """These customers, by id: one query."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {
        pk: _Person.of(
            first_name=first,
            last_name=last,
            phone=phone,
            email=email,
            company_name=company,
            mark=mark,
            customer_id=pk,
        )
        for pk, first, last, phone, email, company, mark in User.objects.filter(
            pk__in=wanted
        ).values_list(*_CUSTOMER_COLUMNS)
    }


def _best(position: int, row: _Person, others: Iterable[_Person]) -> Resemblance | None:
    """The resemblance reported for `row`: the strongest rule, a customer before a row, then
    the lowest id or the earliest row."""
    best: tuple[tuple[int, int, int], str, str, _Person] | None = None
    for other in others:
        verdict = _verdict(row, other)
        if verdict is None:
            continue
        reason, message = verdict
        is_row = other.customer_id is None
        rank = (REASONS.index(reason), int(is_row), other.position or other.customer_id or 0)
        if best is None or rank < best[0]:
            best = (rank, reason, message, other)
    if best is None:
        return None
    _, reason, message, other = best
    return Resemblance(
        position=position,
        reason=reason,
        message=message,
        customer_id=other.customer_id,
        row=other.position,
    )


# What the finder reads of a staged row, after its position.
STAGED_COLUMNS = ("source_row", *_PERSON_COLUMNS)


def near_duplicates(job_id: UUID) -> dict[int, Resemblance]:
    """For each staged row to create of the job that resembles a stored customer or an
    earlier row to create, by the row's position: whom, and why. Rows that clash exactly with
    someone are classified otherwise (users.imports.classify) and never come here.

    Two queries find every candidate by the blocking keys over the staging table (customers
    through the key indexes, earlier rows grouped by key: users.imports.resemblance_keys);
    then, CHUNK_ROWS rows with a candidate at a time, those rows and their candidates are read
    and compared. Memory: the candidates' ids, and one chunk of rows and candidates."""
    outcome = Outcome.CREATE.value
    customers = customers_resembling(job_id, (outcome,))
    earlier = earlier_rows_sharing_a_key(job_id, outcome)
    return _compared(job_id, customers, earlier)


# The outcomes of the rows to create once the preview has found its possible duplicates.
TO_CREATE = (Outcome.CREATE.value, Outcome.POSSIBLE_DUPLICATE.value)


def near_duplicates_among(
    job_id: UUID, positions: set[int], *, holders: dict[Key, list[int]] | None = None
) -> dict[int, Resemblance]:
    """near_duplicates for the rows to create at these positions alone, once the preview has
    found its possible duplicates (a change of a few rows: users.imports.reclassify): each is
    compared with the stored customers and the earlier rows to create (possible duplicates
    among them) sharing one of its keys, where fewer than BLOCK_LIMIT rows to create share it,
    as near_duplicates compares them. `holders` may give the rows holding the keys (as
    rows_holding finds them), when the caller already read them."""
    keys = row_keys(job_id, positions)
    wanted = set().union(*keys.values()) if keys else set()
    if holders is None or not wanted.issubset(holders):
        holders = rows_holding(job_id, wanted, TO_CREATE)
    earlier: dict[int, list[int]] = {}
    for position, held in keys.items():
        before = {
            other
            for key in held
            if 2 <= len(holders.get(key, ())) <= BLOCK_LIMIT
            for other in holders[key]
            if other < position
        }
        if before:
            earlier[position] = sorted(before)
    customers = customers_resembling(job_id, TO_CREATE, positions)
    return _compared(job_id, customers, earlier)


def _compared(
    job_id: UUID, customers: dict[int, list[int]], earlier: dict[int, list[int]]
) -> dict[int, Resemblance]:
    """Each row with a candidate (customers or earlier rows, by position) compared with them,
    CHUNK_ROWS rows at a time: whom it resembles, by position, for the rows that resemble
    one."""
    positions = sorted(set(customers) | set(earlier))
    found: dict[int, Resemblance] = {}
    for start in range(0, len(positions), CHUNK_ROWS):
        chunk = positions[start : start + CHUNK_ROWS]
        wanted = set(chunk).union(*(earlier.get(position, ()) for position in chunk))
        rows = {
            row[0]: _Person.of_staged(row)
            for row in StoredRows(job_id).columns(STAGED_COLUMNS, positions=wanted)
        }
        stored = _customers(c for position in chunk for c in customers.get(position, ()))
        for position in chunk:
            others = [stored[c] for c in customers.get(position, ()) if c in stored]
            others += [rows[p] for p in earlier.get(position, ())]
            resemblance = _best(rows[position].position or 0, rows[position], others)
            if resemblance is not None:
                found[position] = resemblance
    return found


def _rank(found: Resemblance) -> tuple[int, int, int]:
    """Where a resemblance stands among a row's (as _best ranks them)."""
    is_row = found.customer_id is None
    return (REASONS.index(found.reason), int(is_row), found.row or found.customer_id or 0)


def near_duplicates_with(job_id: UUID, newcomers: dict[int, set[int]]) -> dict[int, Resemblance]:
    """For rows to create (position -> the earlier rows that just became rows to create and
    share a key with it): whom each resembles now, by position, for the rows that resemble
    someone. A newcomer can only add a candidate, so each row's best is the better of what it
    was found to resemble (its staged resemblance) and of the newcomers: no other candidate is
    read."""
    wanted = set(newcomers).union(*newcomers.values())
    rows = {
        row[0]: (_Person.of_staged(row[:8]), row[8:])
        for row in StoredRows(job_id).columns(
            (
                *STAGED_COLUMNS,
                "resemblance_code",
                "resemblance_message",
                "resembles_customer_id",
                "resembles_row",
            ),
            positions=wanted,
        )
    }
    found: dict[int, Resemblance] = {}
    for position, others in newcomers.items():
        person, (code, message, customer_id, row) = rows[position]
        best = _best(person.position or 0, person, [rows[other][0] for other in others])
        if code:
            stored = Resemblance(person.position or 0, code, message, customer_id, row)
            if best is None or _rank(stored) < _rank(best):
                best = stored
        if best is not None:
            found[position] = best
    return found
