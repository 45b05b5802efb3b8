"""Customers signing themselves up: shipping mark suggestions, and the new account itself.

A new account is a CUSTOMER made by users.customers.services.user_create like any other, with
the password its holder chose (Django's validators, no shared default). It is unverified: it
cannot sign in until its phone is proved by the link or the PIN texted to it
(users.accounts.verification), a reset by SMS, or an administrator.

A phone number or email that is already registered gets the answer a new account gets, in
about the same time (the same password hash, one task queued; the worker hashes a PIN and
sends one SMS either way: the PIN, or a notice to the phone given), so the answer says nothing
about who is registered. Only a taken shipping mark is said to be taken: the person has to
choose another one, and marks are printed on parcels anyway."""

import logging
import secrets
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from rest_framework import status

from users.accounts import tasks
from users.customers import rules, selectors, services
from users.customers.rules import DUPLICATE_EXISTING
from users.errors import ApplicationError
from users.models import Role

logger = logging.getLogger(__name__)

SHIPPING_MARK_TAKEN = "shipping_mark_taken"
SUGGESTION_COUNT = 4
SIGNUP_MESSAGE = (
    "Thank you. We have sent a text message to the phone number you gave: open the link it "
    "holds to confirm your number, then sign in with your phone number and password."
)
# The legacy signup pages offer these cities, not regions (SPA-CONTRACT.md 4.10).
_CITY_REGIONS = {
    "ACCRA": "GREATER_ACCRA",
    "KUMASI": "ASHANTI",
    "TAMALE": "NORTHERN",
    "CAPE COAST": "CENTRAL",
    "TAKORADI": "WESTERN",
}
_MARK_REQUIRED = rules.FieldProblem("shipping_mark", rules.REQUIRED, "Choose a shipping mark.", "")
_ECHOED = ("first_name", "last_name", "nickname", "company_name", "email", "phone", "region")


@dataclass(frozen=True)
class SignupAnswer:
    """What the caller is told: the same for a new account and for registered details."""

    user: dict


def shipping_mark_suggestions(
    *, first_name: str, last_name: str, nickname: str = "", region: str = ""
) -> list[str]:
    """SUGGESTION_COUNT free marks by the project's rule (`PM {n} {NAME6}`, a numeric suffix
    when taken), from the first name, the nickname, the last name and the initial with the last
    name, in that order. The region is checked like a customer's; the rule does not use it."""
    values, problems = rules.clean_customer(
        {"first_name": first_name, "last_name": last_name, "nickname": nickname, "region": region},
        partial=True,
    )
    if problems:
        raise services.problems_to_validation_error(problems)
    first, last = values["first_name"], values["last_name"]
    names = [first, values["nickname"], last, f"{first[:1]}{last}"]
    suggested: list[str] = []
    for name in [n for n in names if n] + [first] * SUGGESTION_COUNT:
        if len(suggested) == SUGGESTION_COUNT:
            break
        mark = services.shipping_mark_generate(
            first_name=name, also_taken={m.upper() for m in suggested}
        )
        if mark not in suggested:
            suggested.append(mark)
    return suggested


def _mark_taken() -> ApplicationError:
    return ApplicationError(
        SHIPPING_MARK_TAKEN,
        "This shipping mark was taken a moment ago. Choose another one.",
        status_code=status.HTTP_409_CONFLICT,
    )


def _registered_fields(error: ValidationError) -> tuple[set[str], dict]:
    """The fields `error` says another user holds, and the rest of its problems."""
    taken: set[str] = set()
    rest: dict[str, list[ValidationError]] = {}
    for field, problems in error.error_dict.items():
        for problem in problems:
            if problem.code == DUPLICATE_EXISTING:
                taken.add(field)
            else:
                rest.setdefault(field, []).append(problem)
    return taken, rest


def _echo(values: dict) -> dict:
    """The user the SPA keeps after sign-up, from what was sent (never from the database, so
    that it is the same for registered details): no id, no tokens."""
    user = {key: values.get(key) for key in _ECHOED}
    return {
        **user,
        "full_name": f"{values['first_name']} {values['last_name']}".strip(),
        "shipping_mark": values.get("shipping_mark") or "",
        "user_role": Role.CUSTOMER.value,
        "user_type": values.get("user_type"),
        "is_active": True,
        "is_verified": False,
        "is_admin_user": False,
        "accessible_warehouses": [],
    }


def customer_signup(
    *, data: dict, password: str, confirm_password: str | None, mark_required: bool = True
) -> SignupAnswer:
    """A new unverified customer with a PIN texted to its phone, or, for a phone or email
    already registered, nothing stored and a notice texted to that phone; answered alike.
    400 for invalid fields or a weak password (shown whatever is registered), 409
    shipping_mark_taken."""
    fields = {key: data.get(key) for key in rules.CUSTOMER_FIELDS if key in data}
    values, problems = rules.clean_customer(fields)
    if mark_required and not values.get("shipping_mark") and "shipping_mark" in values:
        problems.append(_MARK_REQUIRED)
    if confirm_password is not None and password != confirm_password:
        problems.append(
            rules.FieldProblem(
                "confirm_password", "password_mismatch", services.PASSWORDS_DIFFER, ""
            )
        )
    if problems:
        raise services.problems_to_validation_error(problems)
    if values["shipping_mark"] and selectors.shipping_marks_taken(marks=[values["shipping_mark"]]):
        raise _mark_taken()
    try:
        user = services.user_create(
            password=password,
            own_password=True,
            user_role=Role.CUSTOMER,
            is_verified=False,
            **fields,
        )
    except ValidationError as error:
        taken, rest = _registered_fields(error)
        if "shipping_mark" in taken:
            raise _mark_taken() from None
        if rest or not taken:
            raise ValidationError(rest) from None
        # The cost of a new account's password hash; the worker texts the phone given.
        make_password(secrets.token_hex(8))
        tasks.registered_details_notice_task.enqueue(phone=values["phone"])
        return SignupAnswer(user=_echo(values))
    tasks.verification_pin_send_task.enqueue(user_id=user.pk)
    values["shipping_mark"] = user.shipping_mark
    return SignupAnswer(user=_echo(values))


def legacy_signup_fields(*, name: str, company_name: str, phone: str, region: str) -> dict:
    """The legacy PIN signup's body as customer fields: `name` split at its first space (first
    and last name both required), the city it offers as its region. Its shipping mark is not
    used: that page always sends "PP" (SPA-CONTRACT.md 4.10), so one is generated."""
    first, _, last = (name or "").strip().partition(" ")
    city = (region or "").strip().upper()
    return {
        "first_name": first,
        "last_name": last.strip(),
        "company_name": company_name,
        "phone": phone,
        "region": _CITY_REGIONS.get(city, region),
    }
