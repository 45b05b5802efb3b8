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
SQL can. Earlier rows of the file are blocked by the same keys, so a row is compared alike with
customers and with rows.

Reads the database, writes nothing.
"""

import functools
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

from django.db import connection

from users.models import EMAIL_LOCAL_PART, PHONE_WITHOUT_BLOCK, Role, User

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

# The most customers and earlier rows a row is compared with through one key: a key that many
# share (a generic email like info@, a block of a company's numbers) tells nobody apart, and
# comparing every pair of them would grow with the square of the file.
BLOCK_LIMIT = 50

# Rows per query. Postgres prices the query of 1,000 rows' keys (4,000 probes) above its
# jit_above_cost, and compiling it took longer (20 ms) than running it (7 ms); 500 rows stay
# under.
CHUNK_ROWS = 500

# Words a company's name may carry or drop without being another company.
_LEGAL_FORMS = frozenset({"co", "company", "inc", "limited", "llc", "ltd", "plc"})


@dataclass(frozen=True, slots=True)
class RowValues:
    """A row of a preview as the finder needs it: normalised values (users.customers.rules;
    phone in E.164, email lower-case, mark upper-case), `position` the row's number in the
    file as the preview shows it."""

    position: int
    first_name: str
    last_name: str
    phone: str
    email: str | None = None
    company_name: str = ""
    shipping_mark: str | None = None


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


def phone_keys(phone: str) -> tuple[str, str, str, str]:
    """The phone's four blocking keys, as PHONE_WITHOUT_BLOCK computes them: the phone without
    one of the blocks of 3, 2, 2 and 2 digits its last nine make. A one-digit slip (or two
    neighbouring digits swapped within a block) in the last nine digits leaves one equal."""
    return phone[-6:], phone[:-6] + phone[-4:], phone[:-4] + phone[-2:], phone[:-2]


def email_local_part(email: str | None) -> str | None:
    """What EMAIL_LOCAL_PART computes: the email before its (first) @."""
    if not email or "@" not in email:
        return None
    return email.split("@", 1)[0]


# A stored customer's first name, last name, phone, email, company and mark, as _candidates
# reads them.
_Stored = tuple[str, str, str, str | None, str, str | None]


@dataclass(frozen=True, slots=True)
class _Person:
    """A customer or a row, folded once for every comparison."""

    customer_id: int | None
    position: int | None
    first: str
    last: str
    phone: str
    email: str | None
    # The email's local part when it says more than the names (`kwame.mensah85`, `kmensah`),
    # else None: every Kwame Mensah wants `kwame.mensah`, at one provider or another.
    local_part: str | None
    company: str
    mark: str | None
    # (kind, value) of each blocking key, the kinds as _candidates' query names them.
    keys: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, values: RowValues | _Stored, *, customer_id: int | None = None) -> "_Person":
        if isinstance(values, RowValues):
            position: int | None = values.position
            first, last, phone, email = (
                values.first_name,
                values.last_name,
                values.phone,
                values.email,
            )
            company, mark = values.company_name, values.shipping_mark
        else:
            position = None
            first, last, phone, email, company, mark = values
        first, last = fold(first), fold(last)
        local_part = email_local_part(email)
        if local_part is not None and fold(local_part) in (first + last, last + first):
            local_part = None
        keys = tuple(zip(_PHONE_KINDS, phone_keys(phone), strict=True))
        return cls(
            customer_id=customer_id,
            position=position,
            first=first,
            last=last,
            phone=phone,
            email=email or None,
            local_part=local_part,
            company=fold_company(company or ""),
            mark=mark.upper() if mark else None,
            keys=(*keys, ("local_part", local_part)) if local_part else keys,
        )

    def target(self) -> str:
        return f"customer #{self.customer_id}" if self.customer_id else f"row {self.position}"


_PHONE_KINDS = ("phone_but_block1", "phone_but_block2", "phone_but_block3", "phone_but_block4")


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
    named = bool(row.first and row.last)
    if named and row.first == other.first and row.last == other.last:
        if slip:
            return slip, MESSAGES[slip].format(target)
        if same_local_part:
            return SAME_EMAIL_LOCAL_PART, MESSAGES[SAME_EMAIL_LOCAL_PART].format(target)
    if named and row.first == other.last and row.last == other.first:
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
        row.company
        and row.company == other.company
        and row.phone[-COMPANY_PHONE_TAIL:] == other.phone[-COMPANY_PHONE_TAIL:]
    ):
        message = MESSAGES[SAME_COMPANY_PHONE_TAIL].format(COMPANY_PHONE_TAIL, target)
        return SAME_COMPANY_PHONE_TAIL, message
    return None


# The kinds of blocking key, with the expression of each (users.models, where their indexes
# are declared).
KEY_EXPRESSIONS = {
    **dict(zip(_PHONE_KINDS, PHONE_WITHOUT_BLOCK, strict=True)),
    "local_part": EMAIL_LOCAL_PART,
}
_CANDIDATE_COLUMNS = (
    "id",
    "first_name",
    "last_name",
    "phone",
    "email",
    "company_name",
    "shipping_mark",
)


def _literal(value: object) -> str:
    """A constant of a key's expression (a length, the @, the empty text) written into the SQL,
    as the index's definition holds it: SQLite uses an expression index only for the same
    expression, and a bound parameter is not the same. Only the model's constants come here,
    never a row's value."""
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def key_sql(kind: str) -> str:
    """The SQL of a kind of blocking key, its constants written in."""
    return _key_sql(kind, connection.vendor)


@functools.lru_cache(maxsize=16)
def _key_sql(kind: str, vendor: str) -> str:
    """key_sql for the database of this vendor (compiled once: it never changes)."""
    query = User.objects.all().query
    expression = KEY_EXPRESSIONS[kind].resolve_expression(query)
    compiled: tuple[str, list[object]] = query.get_compiler(connection=connection).compile(
        expression
    )
    sql, params = compiled
    return sql % tuple(_literal(param) for param in params)


# A query's parameters: keys, an array of keys (Postgres), the role.
_Params = list[str | list[str]]


def _key_query(kind: str, keys: list[str]) -> tuple[str, _Params]:
    """The customers holding one of `keys` of this kind, each after the key it holds, and the
    parameters.

    On Postgres, one probe of the key's index per key (a LATERAL subquery per element of an
    array), at most BLOCK_LIMIT customers each: an IN list of 1,000 expressions is planned as a
    sequential scan of 100,000 customers (75 ms against a few by the indexes, EXPLAIN ANALYZE,
    Postgres 15), as users.customers.selectors._holding_query found for LOWER(email). SQLite's
    planner uses the key's index for IN (the test of the plans checks both)."""
    quote = connection.ops.quote_name
    table = quote(User._meta.db_table)
    columns = ", ".join(f"{table}.{quote(column)}" for column in _CANDIDATE_COLUMNS)
    role = f"{table}.{quote('user_role')}"
    # Only names and constants from the model, and placeholders: the keys go as parameters.
    if connection.vendor == "postgresql":
        sql = (
            "SELECT wanted.key, held.* FROM unnest(%s::text[]) AS wanted(key) "  # noqa: S608
            f"CROSS JOIN LATERAL (SELECT {columns} FROM {table} WHERE {role} = %s "
            f"AND {key_sql(kind)} = wanted.key LIMIT {BLOCK_LIMIT}) AS held"
        )
        return sql, [keys, Role.CUSTOMER.value]
    # SQLite, without statistics, would read every customer by the role's index instead of the
    # key's; the unary + (a no-op on text) keeps the role out of its choice of index.
    placeholders = ", ".join(["%s"] * len(keys))
    where = f"+{role} = %s AND {key_sql(kind)} IN ({placeholders})"
    sql = f"SELECT {key_sql(kind)}, {columns} FROM {table} WHERE {where}"  # noqa: S608
    return sql, [Role.CUSTOMER.value, *keys]


def _candidates(rows: list[_Person]) -> dict[tuple[str, str], list[_Person]]:
    """The stored customers holding any blocking key of these rows, by (kind, key): one query,
    a UNION ALL of one part per kind of key, so that each reads its own index (an OR of them
    reads the whole table on Postgres). A customer found by two keys is folded once."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        for kind, value in row.keys:
            wanted[kind].add(value)
    kinds = list(wanted)
    parts: list[str] = []
    params: _Params = []
    for n, kind in enumerate(kinds):
        sql, part_params = _key_query(kind, sorted(wanted[kind]))
        parts.append(f"SELECT {n}, part.* FROM ({sql}) AS part")  # noqa: S608
        params += part_params
    if not parts:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        held = cursor.fetchall()
    people: dict[int, _Person] = {}
    found: dict[tuple[str, str], list[_Person]] = defaultdict(list)
    for n, key, pk, *values in held:
        person = people.get(pk)
        if person is None:
            first, last, phone, email, company, mark = values
            stored = (first, last, phone, email, company, mark)
            person = people[pk] = _Person.of(stored, customer_id=pk)
        found[(kinds[n], key)].append(person)
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


def _chunks(rows: Iterable[RowValues]) -> Iterator[list[RowValues]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, CHUNK_ROWS)):
        yield chunk


def near_duplicates(rows: Iterable[RowValues]) -> dict[int, Resemblance]:
    """For each row that resembles a stored customer or an earlier row of `rows` (earlier in
    the order given), by row position: whom, and why. Rows that clash exactly with someone are
    compared all the same, but never with whom they clash (the preview passes the rows left to
    create). One query per CHUNK_ROWS rows; memory: the rows' folded values and keys."""
    found: dict[int, Resemblance] = {}
    earlier: dict[tuple[str, str], list[_Person]] = defaultdict(list)
    for chunk in _chunks(rows):
        people = [_Person.of(values) for values in chunk]
        stored = _candidates(people)
        for values, person in zip(chunk, people, strict=True):
            others = {
                id(other): other
                for key in person.keys
                for block in (stored.get(key, ()), earlier.get(key, ()))
                for other in islice(block, BLOCK_LIMIT)
            }
            resemblance = _best(values.position, person, others.values())
            if resemblance is not None:
                found[values.position] = resemblance
            for key in person.keys:
                earlier[key].append(person)
    return found
