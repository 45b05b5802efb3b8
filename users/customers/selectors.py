"""Reads of users: the list with its search and filters (of customers, or of every user a
caller may see), one user, the counts, and who already holds a unique value (phone, email,
shipping mark). Nothing here writes.

About 520 lines, kept as one module: it is every read of the users table, and the services and
the import reach its look-ups as `selectors.<name>`. The look-ups of unique values (from
`holders_of` down) are the part to move into a module of their own when it grows."""

import datetime
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import timedelta
from enum import StrEnum
from functools import reduce
from operator import and_, itemgetter, or_
from typing import NamedTuple

import django_filters
from django import forms as django_forms
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Case, Count, Exists, F, OuterRef, Q, QuerySet, When
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field

from users.customers import roles, rules
from users.models import Region, Role, User, UserType

RECENT_DAYS = 30


class Scope(StrEnum):
    """The users an endpoint deals in: /api/auth/customers/ customers only, the SPA's
    /api/auth/admin/users/ every user the caller may see."""

    CUSTOMERS = "customers"
    USERS = "users"


_DIGITS = re.compile(r"\D+")


def customers() -> QuerySet[User]:
    return User.objects.filter(user_role=Role.CUSTOMER)


def _search_q(term: str) -> Q:
    """One search word: a name, email or shipping-mark fragment, or (part of) a phone number."""
    q = (
        Q(first_name__icontains=term)
        | Q(last_name__icontains=term)
        | Q(nickname__icontains=term)
        | Q(company_name__icontains=term)
        | Q(email__icontains=term)
        | Q(shipping_mark__icontains=term)
    )
    digits = _DIGITS.sub("", term)
    if len(digits) >= 4 and len(digits) * 2 >= len(term.replace("+", "")):
        q |= Q(phone__contains=digits.lstrip("0") or digits)
    return q


def _search(queryset: QuerySet[User], value: str) -> QuerySet[User]:
    value = (value or "").strip()
    if not value:
        return queryset
    try:
        # The whole query may be a phone number written with spaces: "+233 24 123 4567".
        phone_q = Q(phone=rules.normalize_phone(value))
    except rules.FieldError:
        phone_q = None
    words_q = reduce(and_, (_search_q(word) for word in value.split()[:8]))
    return queryset.filter(reduce(or_, filter(None, [phone_q, words_q])))


class _UtcDateTimeField(django_filters.fields.IsoDateTimeField):
    """An ISO date-time, turned to UTC here: Postgres refuses offsets past +-15:59 that Python
    accepts (up to +-23:59), which would otherwise reach it as a 500."""

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(datetime.UTC)
        except (OverflowError, ValueError):
            raise ValidationError("Enter a date and time in range.", code="invalid") from None


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = _UtcDateTimeField


SEARCH_MAX = 100
USER_ID_MAX = 2**63 - 1  # the id column is a bigint
NOT_A_USER_ID = "Enter a user id: a whole number from 1."
NOT_TRUE_OR_FALSE = "Either true or false."
BLANK_FILTER = "Give a value, or leave the parameter out."


class _UserIdField(django_forms.CharField):
    """A user id as a query string holds it: digits only ("1.5", "1e3", "abc" and "1.0" are
    refused, where a number field would take the first three as 1, 1000 or nothing)."""

    def to_python(self, value):
        text = super().to_python(value)
        if text in self.empty_values:
            return None
        if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= USER_ID_MAX:
            raise ValidationError(NOT_A_USER_ID, code="invalid_user_id")
        return int(text)


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": USER_ID_MAX})
class UserIdFilter(django_filters.Filter):
    field_class = _UserIdField


class _TrueOrFalseField(django_forms.CharField):
    """`true` or `false` (what a JSON client and the SPA send); blank is no filter. Django's
    own field reads anything else ("null", "5", "maybe") as no filter too, silently."""

    def to_python(self, value):
        text = super().to_python(value)
        if text in self.empty_values:
            return None
        if text not in ("true", "false"):
            raise ValidationError(NOT_TRUE_OR_FALSE, code="invalid_boolean")
        return text == "true"


class TrueOrFalseFilter(django_filters.BooleanFilter):
    field_class = _TrueOrFalseField


class CustomerFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(method="filter_search", max_length=SEARCH_MAX)
    user_role = django_filters.ChoiceFilter(choices=Role.choices)
    user_type = django_filters.ChoiceFilter(choices=UserType.choices)
    region = django_filters.ChoiceFilter(choices=Region.choices)
    created_by = UserIdFilter(field_name="created_by_id")
    import_job = django_filters.UUIDFilter(field_name="import_job_id")
    is_verified = TrueOrFalseFilter()
    is_active = TrueOrFalseFilter()
    joined_after = UtcDateTimeFilter(field_name="date_joined", lookup_expr="gte")
    joined_before = UtcDateTimeFilter(field_name="date_joined", lookup_expr="lt")
    ordering = django_filters.OrderingFilter(
        fields=(
            "date_joined",
            "first_name",
            "last_name",
            "shipping_mark",
            "phone",
            "email",
            "region",
            "id",
        )
    )

    class Meta:
        model = User
        fields = [
            "search",
            "user_role",
            "user_type",
            "region",
            "created_by",
            "import_job",
            "is_verified",
            "is_active",
        ]

    def filter_search(self, queryset, name, value):
        return _search(queryset, value)


def _filtered(queryset: QuerySet[User], filters: Mapping | None) -> QuerySet[User]:
    """`queryset` with the list filters applied, newest first unless `ordering` says otherwise.

    Raises django ValidationError for filter values that do not parse, and for a filter given
    as blank (`?is_active=`), which would otherwise be read as no filter at all (a blank
    search is no search, a blank ordering, an empty list of fields, the default order)."""
    blank = [
        name
        for name in CustomerFilter.base_filters
        if name not in ("search", "ordering") and name in (filters or {}) and filters[name] == ""
    ]
    if blank:
        raise ValidationError(
            {name: [ValidationError(BLANK_FILTER, code="blank")] for name in blank}
        )
    filterset = CustomerFilter(filters or {}, queryset=queryset)
    if not filterset.is_valid():
        raise ValidationError(
            {
                field: [
                    ValidationError(error.messages[0], code=error.code or "invalid")
                    for error in errors
                ]
                for field, errors in filterset.form.errors.as_data().items()
            }
        )
    queryset = filterset.qs
    if not queryset.query.order_by:
        queryset = queryset.order_by("-date_joined", "-id")
    else:
        queryset = queryset.order_by(*queryset.query.order_by, "-id")
    return queryset


def customer_list(*, actor: User | None, filters: Mapping | None = None) -> QuerySet[User]:
    """Customers matching the list filters that `actor` may see (the export's rows); None for
    the command line, run by whoever runs the server, which exports them all."""
    if actor is None:
        return _filtered(customers(), filters)
    return _filtered(users_of(actor=actor, scope=Scope.CUSTOMERS, filters=filters), filters)


def customer_get(*, customer_id: int) -> User | None:
    return customers().filter(pk=customer_id).first()


def users_of(*, actor: User, scope: Scope, filters: Mapping | None = None) -> QuerySet[User]:
    """The users of `scope` that `actor` may see (users.customers.roles.visible); with a
    `created_by` filter, only if `actor` may see that creator too (else none: the filter
    would tell who created them)."""
    queryset = User.objects.filter(roles.visible(actor))
    if scope == Scope.CUSTOMERS:
        queryset = queryset.filter(user_role=Role.CUSTOMER)
    if (filters or {}).get("created_by"):
        queryset = queryset.filter(roles.visible(actor, through="created_by__"))
    return queryset


def user_list(*, actor: User, scope: Scope, filters: Mapping | None = None) -> QuerySet[User]:
    """The users of `scope` that `actor` may see, matching the list filters.

    Without an `ordering`, the users scope lists staff accounts first: the SPA's Admins page
    asks for one default page with no parameters and keeps only the staff rows of it, which
    customers joined since would otherwise push off the page."""
    queryset = _filtered(users_of(actor=actor, scope=scope, filters=filters), filters)
    if scope == Scope.USERS and not (filters or {}).get("ordering"):
        queryset = queryset.alias(
            staff_first=Case(When(_staff_account_q(), then=0), default=1)
        ).order_by("staff_first", "-date_joined", "-id")
    return queryset


def user_get(*, actor: User, scope: Scope, user_id: int) -> User | None:
    return users_of(actor=actor, scope=scope).filter(pk=user_id).first()


def shown_user(*, actor: User, column: str) -> Case:
    """The user id in `column` (a foreign key to users) when `actor` may see that user
    (roles.visible), else NULL: for reads that name a user found another way (a creator, the
    author of a change), as an annotation."""
    users = User.objects.filter(roles.visible(actor), pk=OuterRef(column))
    return Case(When(Exists(users), then=F(column)), default=None)


def visible_ids(*, actor: User, ids: Iterable[int | None]) -> set[int]:
    """Which of these users `actor` may see (roles.visible): for reads that name a user found
    another way (a clash in a preview, a creator), so that they name only those."""
    wanted = sorted({user_id for user_id in ids if user_id is not None})
    shown: set[int] = set()
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        shown.update(
            User.objects.filter(
                roles.visible(actor), pk__in=wanted[start : start + LOOKUP_CHUNK]
            ).values_list("pk", flat=True)
        )
    return shown


def _staff_account_q() -> Q:
    return ~Q(user_role=Role.CUSTOMER) | Q(is_staff=True) | Q(is_superuser=True)


def user_statistics(*, actor: User, scope: Scope) -> dict[str, int]:
    """Counts over the users of `scope` that `actor` may see, in one query."""
    since = timezone.now() - timedelta(days=RECENT_DAYS)
    customer = Q(user_role=Role.CUSTOMER) & ~_staff_account_q()
    return users_of(actor=actor, scope=scope).aggregate(
        total_users=Count("id"),
        active_users=Count("id", filter=Q(is_active=True)),
        admin_users=Count("id", filter=_staff_account_q()),
        customer_users=Count("id", filter=customer),
        active_customers=Count("id", filter=customer & Q(is_active=True)),
        business_users=Count("id", filter=Q(user_type=UserType.BUSINESS)),
        individual_users=Count("id", filter=Q(user_type=UserType.INDIVIDUAL)),
        recent_registrations=Count("id", filter=Q(date_joined__gte=since)),
    )


class Holder(NamedTuple):
    """A stored user holding a unique value: what a duplicate's report names."""

    id: int
    phone: str
    email: str | None
    shipping_mark: str
    first_name: str
    last_name: str


def holders_of(
    *, phones=(), emails=(), shipping_marks=(), exclude_id: int | None = None
) -> list[Holder]:
    """Users holding any of these (normalised) values, each once.

    One query of plain SQL returning tuples: a UNION of one lookup per field (which also returns
    a user holding two of the values once), so each part uses its own unique index (phone,
    LOWER(email), UPPER(shipping_mark)); an OR of the three makes Postgres scan the whole table
    instead (65 ms against 1 ms per 500 rows on 120,000
    customers). Built by the ORM with model instances, the same lookups of a 100,000-row import
    took 1.3 s, of which the SQL was 0.5 s."""
    columns = _columns(*Holder._fields)
    lookups = (
        ("phone", list(phones)),
        ("email", [email.lower() for email in emails]),
        ("shipping_mark", [mark.upper() for mark in shipping_marks]),
    )
    parts: list[str] = []
    params: list[object] = []
    for name, values in lookups:
        if values:
            sql, part_params = _holding_query(columns, name, values, exclude_id=exclude_id)
            parts.append(sql)
            params += part_params
    if not parts:
        return []
    with connection.cursor() as cursor:
        cursor.execute(" UNION ".join(parts), params)
        return list(dict.fromkeys(Holder(*row) for row in cursor.fetchall()))


def _holding_query(
    columns: str, field: str, keys: list[str], *, exclude_id: int | None = None
) -> tuple[str, list[object]]:
    """A SELECT of `columns` of the users whose unique `field` (compared as its index compares
    it) is one of `keys`, but `exclude_id`, and its parameters.

    On Postgres, one probe of the field's unique index a key (a LATERAL subquery per key of an
    array, each at most one row as the index is unique; the LIMIT keeps the planner from
    flattening it into a hash join over the whole table). `LOWER(email) IN (1,000 values)` is
    planned as a sequential scan from about 30,000 customers on, since the planner prices
    LOWER() at one operator where it costs about 0.4 us a row: 60 ms a query at 100,000
    customers against 1 ms by the index (EXPLAIN ANALYZE, Postgres 15). Elsewhere (SQLite,
    whose planner uses the index for IN), the plain IN."""
    quote = connection.ops.quote_name
    table = quote(User._meta.db_table)
    compared = _compared(field)
    others, others_params = "", []
    if exclude_id is not None:
        others, others_params = f" AND {quote(User._meta.pk.column)} <> %s", [exclude_id]
    # Only names from the model and placeholders: the values go as parameters.
    if connection.vendor == "postgresql":
        sql = (
            "SELECT held.* FROM unnest(%s::text[]) AS wanted(key) CROSS JOIN LATERAL "  # noqa: S608
            f"(SELECT {columns} FROM {table} WHERE {compared} = wanted.key{others} LIMIT 1) AS held"
        )
        return sql, [keys, *others_params]
    placeholders = ", ".join(["%s"] * len(keys))
    sql = f"SELECT {columns} FROM {table} WHERE {compared} IN ({placeholders}){others}"  # noqa: S608
    return sql, [*keys, *others_params]


def _compared(field: str) -> str:
    """A unique field's column as its unique index compares it (and unique_key does)."""
    column = connection.ops.quote_name(User._meta.get_field(field).column)
    return {"email": f"LOWER({column})", "shipping_mark": f"UPPER({column})"}.get(field, column)


class Stored(NamedTuple):
    """A stored account as an import sees it: its customer fields (rules.CUSTOMER_FIELDS) and
    what roles.import_refusal decides by."""

    fields: dict
    target: roles.ImportTarget


class Holding(NamedTuple):
    """A stored user holding a unique value, and the account as an import sees it."""

    holder: Holder
    stored: Stored
    # The holder's phone, email and mark as unique_key compares them, by field.
    keys: dict[str, str | None]


def _rows_holding(columns: str, field: str, keys: list[str]) -> Iterator[tuple]:
    """The rows (`columns` of users_user, a tuple each) whose unique `field` is one of `keys`
    (as unique_key compares them), by its unique index (_holding_query), LOOKUP_CHUNK keys a
    query."""
    with connection.cursor() as cursor:
        for start in range(0, len(keys), LOOKUP_CHUNK):
            cursor.execute(*_holding_query(columns, field, keys[start : start + LOOKUP_CHUNK]))
            yield from cursor.fetchall()


def _rows_of_ids(columns: str, ids: list[int], *, suffix: str = "") -> Iterator[tuple]:
    """The rows (`columns` of users_user, a tuple each) of these ids (with `suffix`, a locking
    clause, after the condition): plain SQL, LOOKUP_CHUNK ids a query, by the primary key."""
    table = connection.ops.quote_name(User._meta.db_table)
    key = connection.ops.quote_name(User._meta.pk.column)
    with connection.cursor() as cursor:
        for start in range(0, len(ids), LOOKUP_CHUNK):
            chunk = ids[start : start + LOOKUP_CHUNK]
            # Only names from the model and placeholders: the values go as parameters.
            cursor.execute(
                f"SELECT {columns} FROM {table} "  # noqa: S608
                f"WHERE {key} IN ({', '.join(['%s'] * len(chunk))}) {suffix}",
                chunk,
            )
            yield from cursor.fetchall()


def _columns(*names: str) -> str:
    quote = connection.ops.quote_name
    return ", ".join(quote(User._meta.get_field(name).column) for name in names)


_HOLDER_FIELDS = itemgetter(*Holder._fields[1:])


_STORED_COLUMNS = ("id", *rules.CUSTOMER_FIELDS, *roles.IMPORT_TARGET_FIELDS)
_FIELD_COUNT = len(rules.CUSTOMER_FIELDS)


def _stored(row: tuple) -> Stored:
    """A row of _STORED_COLUMNS, without its id."""
    fields = dict(zip(rules.CUSTOMER_FIELDS, row[1 : _FIELD_COUNT + 1], strict=True))
    return Stored(fields, roles.ImportTarget(*row[_FIELD_COUNT + 1 :]))


def holdings_of(*, field: str, keys: Iterable[str]) -> dict[str, Holding]:
    """The stored users holding these values of one unique field, by the value (as unique_key
    compares it: `keys` are compared so already), each with its customer fields and what
    roles.import_refusal decides by: what the rows of an update are matched to. One index
    lookup a value (where holders_of and the customers' fields together made four)."""
    found: dict[str, Holding] = {}
    for row in _rows_holding(_columns(*_STORED_COLUMNS), field, sorted(set(keys))):
        stored = _stored(row)
        holder = Holder(row[0], *_HOLDER_FIELDS(stored.fields))
        held = holder_keys(holder)
        found[held[field]] = Holding(holder, stored, held)
    return found


def customer_fields_of(*, ids: Iterable[int], lock: bool = False) -> dict[int, Stored]:
    """These accounts as an import sees them, by id, whatever their role (the caller applies
    roles.import_refusal): plain SQL returning tuples (a 10,000-row update read them in
    0.06 s, where the ORM's values_list took 0.09 s). `lock` row-locks them for the caller's
    transaction (on SQLite, which has no row locks, its write transaction holds the whole
    database instead), so that the rule is decided on what the write will find."""
    where = "FOR UPDATE" if lock and connection.features.has_select_for_update else ""
    rows = _rows_of_ids(_columns(*_STORED_COLUMNS), sorted(set(ids)), suffix=where)
    return {row[0]: _stored(row) for row in rows}


# Values per lookup query (IN lists, VALUES joins): well under SQLite's 32,766 bound variables,
# and few queries for the import's thousands of rows.
LOOKUP_CHUNK = 1000

UNIQUE_FIELDS = ("phone", "email", "shipping_mark")


def unique_key(field: str, value: object) -> str | None:
    """A unique value as the database compares it: the phone as stored, the email ignoring
    case (LOWER), the shipping mark ignoring case (UPPER)."""
    if not value:
        return None
    text = str(value)
    if field == "email":
        return text.lower()
    if field == "shipping_mark":
        return text.upper()
    return text


def holder_keys(holder: Holder) -> dict[str, str | None]:
    """The holder's phone, email and mark as unique_key compares them, by field: written out,
    as this runs for every holder a large import finds (a unique_key call per value cost a
    third of the lookups' time)."""
    return {
        "phone": holder.phone or None,
        "email": holder.email.lower() if holder.email else None,
        "shipping_mark": holder.shipping_mark.upper() if holder.shipping_mark else None,
    }


class Clashes:
    """The stored users holding any unique value of some rows (fetched in one query, by
    holders_of), and, for one row, which of its values each of them holds."""

    def __init__(self, rows: Iterable[Mapping[str, object]], *, exclude_id: int | None = None):
        rows = list(rows)
        users = holders_of(
            phones=[row["phone"] for row in rows if row.get("phone")],
            emails=[row["email"] for row in rows if row.get("email")],
            shipping_marks=[row["shipping_mark"] for row in rows if row.get("shipping_mark")],
            exclude_id=exclude_id,
        )
        holders: dict[tuple[str, str], Holder] = {}
        for user in users:
            for name, key in holder_keys(user).items():
                if key:
                    holders[(name, key)] = user
        self._holders = holders

    def __bool__(self) -> bool:
        """Whether any stored user holds any of the values."""
        return bool(self._holders)

    def of_keys(
        self, phone: str | None, email: str | None, mark: str | None
    ) -> list[tuple[str, Holder]]:
        """As `of`, for values already compared as unique_key compares them (phone as stored,
        email lower-case, mark upper-case): one dictionary look-up each, for large imports."""
        holders = self._holders
        held: list[tuple[str, Holder]] = []
        if phone and (user := holders.get(("phone", phone))) is not None:
            held.append(("phone", user))
        if email and (user := holders.get(("email", email))) is not None:
            held.append(("email", user))
        if mark and (user := holders.get(("shipping_mark", mark))) is not None:
            held.append(("shipping_mark", user))
        return held

    def of(self, values: Mapping[str, object]) -> list[tuple[str, Holder]]:
        """(field, user) for each unique field of `values` that a stored user holds."""
        held: list[tuple[str, Holder]] = []
        if not self._holders:
            return held
        for field in UNIQUE_FIELDS:
            key = unique_key(field, values.get(field))
            if key is not None and (field, key) in self._holders:
                held.append((field, self._holders[(field, key)]))
        return held


def shipping_marks_taken(*, marks: list[str]) -> set[str]:
    """Which of these marks (upper-case) exist already, by the marks' unique index."""
    wanted = sorted({mark.upper() for mark in marks})
    return {
        row[0].upper() for row in _rows_holding(_columns("shipping_mark"), "shipping_mark", wanted)
    }
