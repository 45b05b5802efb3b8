"""Writes to users. Every path that stores a user (API, admin, import, command line) obeys
users.customers.rules; what staff do to a user is checked by users.customers.roles first; a
password goes through users.credentials."""

import logging

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from rest_framework import status

from users.credentials import services as credentials
from users.credentials.links import sign_in_link_issue
from users.customers import roles, rules, selectors
from users.customers.roles import Action
from users.customers.rules import FieldProblem
from users.errors import ACCOUNT_INACTIVE, ApplicationError
from users.messaging import sms
from users.models import CustomerChange, PasswordChange, Role, SignInLink, User

logger = logging.getLogger(__name__)


_ACCOUNT_FIELDS = (
    "user_role",
    "is_staff",
    "is_superuser",
    "is_active",
    "is_verified",
    "accessible_warehouses",
)
PASSWORDS_DIFFER = "The two passwords are not the same."
SMS_NOT_CONFIGURED = "sms_not_configured"
SMS_FAILED = "sms_failed"


def problems_to_validation_error(problems: list[FieldProblem]) -> ValidationError:
    by_field: dict[str, list[ValidationError]] = {}
    for problem in problems:
        by_field.setdefault(problem.field, []).append(
            ValidationError(problem.message, code=problem.code)
        )
    return ValidationError(by_field)


def _uniqueness_problems(values: dict, *, exclude_id: int | None = None) -> list[FieldProblem]:
    """The unique fields of `values` another user already holds."""
    held = selectors.Clashes([values], exclude_id=exclude_id).of(values)
    return rules.duplicate_problems(values, held)


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


def _password_problems(
    password: str, user: User, field: str, *, own: bool = False
) -> list[FieldProblem]:
    return [
        FieldProblem(field, error.code or "invalid", error.messages[0], "")
        for error in credentials.password_problems(password=password, user=user, own=own)
    ]


def _confirmation_problems(password, confirm, field: str) -> list[FieldProblem]:
    if confirm is not None and password != confirm:
        return [FieldProblem(field, "password_mismatch", PASSWORDS_DIFFER, "")]
    return []


def user_create(
    *,
    phone: object = None,
    password: str | None = None,
    created_by: User | None = None,
    own_password: bool = False,
    **fields,
) -> User:
    """Any user (customer or staff), validated like an import row; no password -> unusable.

    A password is checked by Django's validators and stored by users.credentials: temporary
    when created_by (someone other than the new holder) chose it. own_password: the holder
    chose it at sign-up, so a shared default is refused as in their own password change."""
    account = {key: fields.pop(key) for key in _ACCOUNT_FIELDS if key in fields}
    unknown = set(fields) - set(rules.CUSTOMER_FIELDS)
    if unknown:
        raise TypeError(f"unknown user fields: {sorted(unknown)}")
    values, problems = rules.clean_customer({"phone": phone, **fields})
    problems += _uniqueness_problems(values)
    user = User(**values, **account, created_by=created_by)
    # An email given at sign-up is the holder's word alone (users.customers.roles.import_refusal).
    user.email_unproven = bool(own_password and values.get("email"))
    if password:
        problems += _password_problems(password, user, "password", own=own_password)
    if problems:
        raise problems_to_validation_error(problems)
    if not values["shipping_mark"]:
        user.shipping_mark = values["shipping_mark"] = shipping_mark_generate(
            first_name=values["first_name"]
        )
    user.set_unusable_password()
    with transaction.atomic():
        _save_new_or_raise(user, values)
        if password:
            kind = (
                PasswordChange.Kind.SIGNUP
                if own_password
                else PasswordChange.Kind.CREATED
                if created_by
                else PasswordChange.Kind.COMMAND
            )
            credentials.password_store(user=user, password=password, set_by=created_by, kind=kind)
    logger.info("[USER-CREATE] user=%s role=%s", user.pk, user.user_role)
    return user


def user_create_by(*, actor: User, data: dict) -> User:
    """A user created by staff (the API): customers by any staff, other roles by a super admin.

    An account given a password is verified unless `is_verified` says otherwise (the staff
    member vouches for the phone, and the password is temporary); one without is not."""
    role = data.get("user_role") or Role.CUSTOMER
    roles.check_create(actor=actor, role=role)
    password = data.get("password") or None
    problems = _confirmation_problems(password, data.get("confirm_password"), "confirm_password")
    if problems:
        raise problems_to_validation_error(problems)
    fields = {key: data[key] for key in rules.CUSTOMER_FIELDS if key in data}
    return user_create(
        created_by=actor,
        password=password,
        user_role=role,
        accessible_warehouses=_warehouses(role, data.get("accessible_warehouses")),
        is_active=data.get("is_active", True),
        is_verified=data.get("is_verified", password is not None),
        **fields,
    )


def _warehouses(role: str, warehouses: list | None) -> list[str]:
    """A customer works in no warehouse; a staff account in those given, each once."""
    if role == Role.CUSTOMER:
        return []
    return list(dict.fromkeys(warehouses or []))


def change_record(*, user: User, before: dict, changed_by: User | None) -> None:
    """Records the customer fields that differ from `before` as a CustomerChange (an edit), so
    the user's history shows it and an undo of an earlier import knows the user changed since."""
    fields = {
        name: {"old": old, "new": getattr(user, name)}
        for name, old in before.items()
        if getattr(user, name) != old
    }
    if fields:
        CustomerChange.objects.create(
            customer=user, source=CustomerChange.Source.EDIT, changed_by=changed_by, fields=fields
        )


def user_update(
    *, user: User, data: dict, partial: bool = True, changed_by: User | None = None
) -> User:
    """Changes the fields present in `data`, with the same rules as a create (with
    partial=False the required fields must all be there). No permission check: callers make
    it (user_update_by, the profile). The customer fields it changes are recorded."""
    fields = {key: data[key] for key in rules.CUSTOMER_FIELDS if key in data}
    values, problems = rules.clean_customer(fields, partial=partial)
    if "shipping_mark" in values and not values["shipping_mark"]:
        problems.append(
            FieldProblem("shipping_mark", rules.REQUIRED, "This field is required.", "")
        )
    problems += _uniqueness_problems(values, exclude_id=user.pk)
    if problems:
        raise problems_to_validation_error(problems)
    before = {key: getattr(user, key) for key in values}
    for key, value in values.items():
        setattr(user, key, value)
    if "email" in values and values["email"] != before["email"]:
        # The holder's own choice is unproven; staff setting it vouch for it.
        user.email_unproven = bool(
            user.email and changed_by is not None and changed_by.pk == user.pk
        )
    for key in ("is_active", "is_verified"):
        if key in data:
            setattr(user, key, bool(data[key]))
    if data.get("user_role"):
        user.user_role = data["user_role"]
    if "accessible_warehouses" in data or user.user_role == Role.CUSTOMER:
        user.accessible_warehouses = _warehouses(
            user.user_role, data.get("accessible_warehouses", user.accessible_warehouses)
        )
    try:
        with transaction.atomic():
            user.save()
            change_record(user=user, before=before, changed_by=changed_by)
    except IntegrityError:
        problems = _uniqueness_problems(values, exclude_id=user.pk)
        if problems:
            raise problems_to_validation_error(problems) from None
        raise
    logger.info("[USER-UPDATE] user=%s fields=%s", user.pk, ",".join(sorted(data)))
    return user


def user_update_by(*, actor: User, user: User, data: dict, partial: bool = True) -> User:
    """An edit by staff, under users.customers.roles (its role and active flag included)."""
    roles.check_changes(actor=actor, target=user, changes=data)
    was_active = user.is_active
    user = user_update(user=user, data=data, partial=partial, changed_by=actor)
    if was_active and not user.is_active:
        credentials.sessions_revoke(user=user)
    return user


def user_toggle_active(*, actor: User, user: User) -> User:
    """Blocks an active account (its sessions end) or unblocks a blocked one."""
    roles.check_action(actor=actor, target=user, action=Action.BLOCK)
    user.is_active = not user.is_active
    user.save(update_fields=["is_active"])
    if not user.is_active:
        credentials.sessions_revoke(user=user)
    logger.info("[USER-TOGGLE] user=%s by=%s active=%d", user.pk, actor.pk, int(user.is_active))
    return user


def user_delete(*, actor: User, user: User) -> None:
    """Deletes the account; its refresh tokens are revoked first, so a session still open
    somewhere ends cleanly at its next refresh."""
    roles.check_action(actor=actor, target=user, action=Action.DELETE)
    user_id = user.pk
    with transaction.atomic():
        credentials.sessions_revoke(user=user)
        user.delete()
    logger.info("[USER-DELETE] user=%s by=%s", user_id, actor.pk)


def user_password_reset(
    *, actor: User, user: User, password: str, confirm: str | None = None
) -> PasswordChange:
    """A password chosen by staff for someone else: temporary, sessions revoked, recorded.

    It verifies the account, as a create with a password does: the staff member vouches for
    the phone (an imported customer, unverified, gets in by asking an admin for a reset)."""
    roles.check_action(actor=actor, target=user, action=Action.RESET_PASSWORD)
    problems = _confirmation_problems(password, confirm, "confirm_password")
    problems += _password_problems(password, user, "new_password")
    if problems:
        raise problems_to_validation_error(problems)
    with transaction.atomic():
        if not user.is_verified:
            user.is_verified = True
            user.save(update_fields=["is_verified"])
        return credentials.password_store(
            user=user, password=password, set_by=actor, kind=PasswordChange.Kind.RESET
        )


def user_sign_in_link_make(*, actor: User, user: User) -> str:
    """A sign-in link made by staff to pass on by hand (when a text cannot reach the customer),
    recorded with who made it. It lets its holder choose a password, so the rules of a password
    reset apply: only a super admin makes one for a staff account, nobody for their own. An
    account without a password of its own gets an invite link (set a first password, valid for
    SIGN_IN_LINK_INVITE_DAYS); any other a reset link (SIGN_IN_LINK_RESET_MINUTES). Like every
    link it voids the account's older ones, and the account's next password change voids it."""
    roles.check_action(actor=actor, target=user, action=Action.RESET_PASSWORD)
    if not user.is_active:
        raise ApplicationError(
            ACCOUNT_INACTIVE,
            "This account is blocked: unblock it first, or its link would open nothing.",
            status_code=status.HTTP_400_BAD_REQUEST,
        )
    purpose = SignInLink.Purpose.RESET if user.has_usable_password() else SignInLink.Purpose.INVITE
    url = sign_in_link_issue(user=user, purpose=purpose, via=SignInLink.Via.HAND, created_by=actor)
    logger.info("[SIGN-IN-LINK-HAND] user=%s by=%s purpose=%s", user.pk, actor.pk, purpose)
    return url


def user_message_send(*, actor: User, user: User, subject: str, message: str) -> None:
    """Texts `subject` and `message` to the user's phone through the SMS provider."""
    roles.check_action(actor=actor, target=user, action=Action.MESSAGE)
    if not sms.sms_configured():
        raise ApplicationError(
            SMS_NOT_CONFIGURED,
            "Text messages are not set up on this server (SMS_BACKEND is disabled), so nothing "
            "was sent.",
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    result = sms.sms_send(to=user.phone, body=f"{subject}\n\n{message}", kind="message")
    logger.info("[USER-MESSAGE] user=%s by=%s sent=%d", user.pk, actor.pk, int(result.sent))
    if not result.sent:
        raise ApplicationError(
            SMS_FAILED,
            "The SMS provider did not accept the message. Try again later.",
            status_code=status.HTTP_502_BAD_GATEWAY,
        )
