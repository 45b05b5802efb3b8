"""Near-duplicates: the rows of an import that clash with nobody exactly (phone, email and mark
are unique, and the preview reports those clashes itself) but look like a customer already
stored, or like an earlier row of the same file, entered again with a slip: the same names with
a phone one digit apart, the same names with the same email before the @, first and last names
swapped, the same company with the same phone ending. For each such row: whom it resembles, and
why, as a stable reason code and a sentence (docs/importing.md, "Near-duplicates").

Candidates come from the database by blocking keys, each behind an expression index that
SQLite and Postgres both use (users.models: PHONE_WITHOUT_BLOCK, EMAIL_LOCAL_PART): one query
per CHUNK_ROWS rows, never a read of every customer. The rules then compare each row with its
candidates in Python, where names can be folded (accents, case, spaces, hyphens) as no portable
SQL can. Earlier rows of the file are blocked by the same keys, computed and grouped over the
staging table in SQL, so a row is compared alike with customers and with rows, and the file's
keys are never held in Python.

Reads the database (the job's staged rows, the customers), writes nothing: the preview stores
what it finds (users.imports.store).
"""

import functools
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

from users.imports.resemblance_keys import (
    BLOCK_LIMIT,
    KEY_EXPRESSIONS,
    PHONE_KINDS,
    customers_holding,
    earlier_rows_sharing_a_key,
    email_local_part,
    phone_keys,
)
from users.imports.stored_rows import Outcome, StoredRow, StoredRows

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

# Rows per query. Postgres prices the query of 1,000 rows' keys (4,000 probes) above its
# jit_above_cost, and compiling it took longer (20 ms) than running it (7 ms); 500 rows stay
# under.
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


# A key is kept as one text, its kind's mark and its value (`0234567`): a 100,000-row file
# keeps half a million of them for its earlier rows, and a pair of texts would take twice the
# memory of one.
_PREFIX = {kind: str(n) for n, kind in enumerate(KEY_EXPRESSIONS)}
_KIND_OF = {prefix: kind for kind, prefix in _PREFIX.items()}
_PHONE_PREFIXES = tuple(_PREFIX[kind] for kind in PHONE_KINDS)

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
    """A customer or a row: its values as given, its blocking keys. Names and company are folded
    only when a candidate is compared (most rows have none), each text once (fold's cache)."""

    customer_id: int | None
    position: int | None
    first_name: str
    last_name: str
    phone: str
    email: str | None
    local_part: str | None
    company_name: str
    mark: str | None
    # Each blocking key as one text: its kind's mark (_PREFIX) then its value.
    keys: tuple[str, ...]

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
        local_part = _telling_local_part(email, first_name, last_name)
        keys = tuple(map(str.__add__, _PHONE_PREFIXES, phone_keys(phone)))
        return cls(
            customer_id=customer_id,
            position=position,
            first_name=first_name,
            last_name=last_name,
            phone=phone,
            email=email or None,
            local_part=local_part,
            company_name=company_name or "",
            mark=mark.upper() if mark else None,
            keys=(*keys, _PREFIX["local_part"] + local_part) if local_part else keys,
        )

    @classmethod
    def of_staged(cls, row: StoredRow) -> "_Person":
        """A staged row to create (every field it needs is valid), by its number in the file."""
        fields = row.fields()
        return cls.of(
            first_name=fields["first_name"] or "",
            last_name=fields["last_name"] or "",
            phone=fields["phone"],
            email=fields["email"],
            company_name=fields["company_name"] or "",
            mark=fields["shipping_mark"],
            position=row.source_row,
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


def _candidates(rows: list[_Person]) -> dict[str, list[_Person]]:
    """The stored customers holding any blocking key of these rows, by key; a customer found by
    two keys is made once."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        for key in row.keys:
            wanted[_KIND_OF[key[0]]].add(key[1:])
    people: dict[int, _Person] = {}
    found: dict[str, list[_Person]] = defaultdict(list)
    for kind, key, pk, first, last, phone, email, company, mark in customers_holding(wanted):
        person = people.get(pk)
        if person is None:
            person = people[pk] = _Person.of(
                first_name=first,
                last_name=last,
                phone=phone,
                email=email,
                company_name=company,
                mark=mark,
                customer_id=pk,
            )
        found[_PREFIX[kind] + key].append(person)
    return found


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


def _chunks(rows: Iterable[StoredRow]) -> Iterator[list[StoredRow]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, CHUNK_ROWS)):
        yield chunk


def near_duplicates(job_id: object) -> dict[int, Resemblance]:
    """For each staged row to create of the job that resembles a stored customer or an
    earlier row to create, by the row's position: whom, and why. Rows that clash exactly with
    someone are classified otherwise (users.imports.classify) and never come here.

    Earlier rows come from one query over the staging table (pairs of rows sharing a key,
    resemblance_keys.earlier_rows_sharing_a_key); customers from one query per CHUNK_ROWS rows
    through the key indexes. Memory: one chunk of rows, their candidates, and the pairs."""
    pairs = earlier_rows_sharing_a_key(job_id, Outcome.CREATE.value)
    found: dict[int, Resemblance] = {}
    for chunk in _chunks(StoredRows(job_id, outcomes=[Outcome.CREATE])):
        people = {row.position: _Person.of_staged(row) for row in chunk}
        stored = _candidates(list(people.values()))
        wanted = {p for position in people for p in pairs.get(position, ())} - set(people)
        earlier = {row.position: _Person.of_staged(row) for row in StoredRows(job_id).at(wanted)}
        earlier.update(people)
        for position, person in people.items():
            others = [other for key in person.keys for other in stored.get(key, ())[:BLOCK_LIMIT]]
            others += [earlier[p] for p in pairs.get(position, ())]
            if others:
                # A candidate found by two keys is compared once.
                unique = {id(other): other for other in others}.values()
                resemblance = _best(person.position or 0, person, unique)
                if resemblance is not None:
                    found[position] = resemblance
    return found
