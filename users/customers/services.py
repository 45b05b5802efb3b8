"""Writes to users. Every path that stores a customer (API, admin, import) obeys
users.customers.rules."""

import logging

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from users.customers import rules, selectors
from users.customers.rules import DUPLICATE_EXISTING, FieldProblem
from users.models import Role, User

logger = logging.getLogger(__name__)


DUPLICATE_MESSAGES = {
    "phone": "A customer with this phone number already exists.",
    "email": "A customer with this email address already exists.",
    "shipping_mark": "A customer with this shipping mark already exists.",
}


_ACCOUNT_FIELDS = ("user_role", "is_staff", "is_superuser", "is_active", "is_verified")


def problems_to_validation_error(problems: list[FieldProblem]) -> ValidationError:
    by_field: dict[str, list[ValidationError]] = {}
    for problem in problems:
        by_field.setdefault(problem.field, []).append(
            ValidationError(problem.message, code=problem.code)
        )
    return ValidationError(by_field)


def duplicate_problems(values: dict, held: list[tuple[str, User]]) -> list[FieldProblem]:
    """One duplicate_existing problem for each (field, holder) that selectors.Clashes found."""
    return [
        FieldProblem(field, DUPLICATE_EXISTING, DUPLICATE_MESSAGES[field], str(values[field]))
        for field, _holder in held
    ]


def _uniqueness_problems(values: dict, *, exclude_id: int | None = None) -> list[FieldProblem]:
    """The unique fields of `values` another user already holds."""
    held = selectors.Clashes([values], exclude_id=exclude_id).of(values)
    return duplicate_problems(values, held)


def shipping_mark_generate(*, first_name: str, also_taken: set[str] = frozenset()) -> str:
    """The first free `PM {n} {FIRSTNAME6}[NN]` mark, checking the database 20 at a time."""
    base = rules.shipping_mark_base(first_name)
    start = 1
    while True:
        candidates = rules.shipping_mark_candidates(base, start=start, count=20)
        taken = selectors.shipping_marks_taken(marks=candidates) | also_taken
        for candidate in candidates:
            if candidate.upper() not in taken:
                return candidate
        start += 20


def _save_new_or_raise(user: User, values: dict) -> None:
    """Insert; a unique value that another request stored a moment ago becomes a field error."""
    try:
        with transaction.atomic():
            user.save(force_insert=True)
    except IntegrityError:
        problems = _uniqueness_problems(values)
        if problems:
            raise problems_to_validation_error(problems) from None
        raise


def user_create(
    *,
    phone: object = None,
    password: str | None = None,
    created_by: User | None = None,
    **fields,
) -> User:
    """Any user (customer or staff), validated like an import row; no password -> unusable."""
    account = {key: fields.pop(key) for key in _ACCOUNT_FIELDS if key in fields}
    unknown = set(fields) - set(rules.CUSTOMER_FIELDS)
    if unknown:
        raise TypeError(f"unknown user fields: {sorted(unknown)}")
    values, problems = rules.clean_customer({"phone": phone, **fields})
    problems += _uniqueness_problems(values)
    if problems:
        raise problems_to_validation_error(problems)
    if not values["shipping_mark"]:
        values["shipping_mark"] = shipping_mark_generate(first_name=values["first_name"])
    user = User(**values, **account, created_by=created_by)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    _save_new_or_raise(user, values)
    logger.info("[USER-CREATE] user=%s role=%s", user.pk, user.user_role)
    return user


def customer_create(*, created_by: User, data: dict) -> User:
    fields = {key: data[key] for key in rules.CUSTOMER_FIELDS if key in data}
    account = {key: data[key] for key in ("is_active", "is_verified") if key in data}
    return user_create(created_by=created_by, user_role=Role.CUSTOMER, **account, **fields)


def customer_update(*, customer: User, data: dict) -> User:
    """Changes the fields present in `data`, with the same rules as a create."""
    fields = {key: data[key] for key in rules.CUSTOMER_FIELDS if key in data}
    values, problems = rules.clean_customer(fields, partial=True)
    if "shipping_mark" in values and not values["shipping_mark"]:
        problems.append(
            FieldProblem("shipping_mark", rules.REQUIRED, "This field is required.", "")
        )
    problems += _uniqueness_problems(values, exclude_id=customer.pk)
    if problems:
        raise problems_to_validation_error(problems)
    for key, value in values.items():
        setattr(customer, key, value)
    for key in ("is_active", "is_verified"):
        if key in data:
            setattr(customer, key, bool(data[key]))
    try:
        with transaction.atomic():
            customer.save()
    except IntegrityError:
        problems = _uniqueness_problems(values, exclude_id=customer.pk)
        if problems:
            raise problems_to_validation_error(problems) from None
        raise
    logger.info("[CUSTOMER-UPDATE] user=%s fields=%s", customer.pk, ",".join(sorted(data)))
    return customer


def customer_delete(*, customer: User, deleted_by: User) -> None:
    customer_id = customer.pk
    customer.delete()
    logger.info("[CUSTOMER-DELETE] user=%s by=%s", customer_id, deleted_by.pk)
