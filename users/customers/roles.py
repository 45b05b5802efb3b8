"""Who may do what to whom. The services enforce these rules (so every client obeys them, not
only the SPA, which lets an admin pick any role in its Edit dialog) and the selectors read
visible() for what a caller may see.

- Staff (User.is_staff_member: an admin role, or Django's is_staff) manage customers.
- Only a super admin creates, edits, blocks, deletes, resets or messages a staff account (any
  account that is not a plain customer, role STAFF included), or changes anyone's role.
- Nobody changes their own role, or blocks, deletes or resets themselves here (their own
  password changes from their profile, with the current one).
- A super admin is seen and touched by super admins only: to anyone else it does not exist.

Each refusal is a 403 whose message says why (the SPA shows it).
"""

from collections.abc import Iterable
from enum import StrEnum
from typing import NamedTuple

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db.models import Q
from rest_framework import status

from users.errors import ApplicationError
from users.models import Role, User

SUPER_ADMIN_REQUIRED = "super_admin_required"
OWN_ACCOUNT = "own_account"


class Action(StrEnum):
    """What is done to an account, as the refusals name it."""

    EDIT = "edit"
    BLOCK = "block"
    DELETE = "delete"
    RESET_PASSWORD = "reset_password"  # noqa: S105 (an action)
    MESSAGE = "message"


_STAFF_ONLY_BY_SUPER = {
    Action.EDIT: "Only a super admin can change staff accounts.",
    Action.BLOCK: "Only a super admin can block or unblock staff accounts.",
    Action.DELETE: "Only a super admin can delete staff accounts.",
    Action.RESET_PASSWORD: "Only a super admin can reset the password of a staff account.",
    Action.MESSAGE: "Only a super admin can message staff accounts.",
}
_NOT_ON_ONESELF = {
    Action.BLOCK: "You cannot block your own account.",
    Action.DELETE: "You cannot delete your own account.",
    Action.RESET_PASSWORD: (
        "Change your own password from your profile, with your current password."
    ),
}
CREATE_STAFF = "Only a super admin can create staff accounts."
CHANGE_ROLE = "Only a super admin can change a user's role."
OWN_ROLE = "You cannot change your own role."


def _refused(code: str, message: str) -> ApplicationError:
    return ApplicationError(code, message, status_code=status.HTTP_403_FORBIDDEN)


def visible(actor: User, *, through: str = "") -> Q:
    """The users `actor` may see: everyone for a super admin, everyone but super admins for
    other staff, nobody for anyone else. Every read that names a user applies it: the lists,
    one user, the export, a preview's clashes and ambiguous matches, a creator. `through`
    names a relation to the users ("created_by__") for a condition on the rows that point to
    them."""
    if actor.is_super_admin:
        return Q()
    if actor.is_staff_member:
        return ~Q(**{f"{through}user_role": Role.SUPER_ADMIN}) & Q(
            **{f"{through}is_superuser": False}
        )
    return Q(**{f"{through}pk__in": []})


def check_create(*, actor: User, role: str) -> None:
    """Staff create customers; only a super admin creates any other role."""
    if role != Role.CUSTOMER and not actor.is_super_admin:
        raise _refused(SUPER_ADMIN_REQUIRED, CREATE_STAFF)


def check_action(*, actor: User, target: User, action: Action) -> None:
    """`actor` (staff, who may see `target`) may do `action` to `target`, or 403."""
    if target.pk == actor.pk and action in _NOT_ON_ONESELF:
        raise _refused(OWN_ACCOUNT, _NOT_ON_ONESELF[action])
    if target.is_staff_account and not actor.is_super_admin:
        raise _refused(SUPER_ADMIN_REQUIRED, _STAFF_ONLY_BY_SUPER[action])


def check_changes(*, actor: User, target: User, changes: dict[str, object]) -> None:
    """An edit of `target` with these values: the account itself, then a role change, then a
    change of its active flag (which is a block or unblock)."""
    check_action(actor=actor, target=target, action=Action.EDIT)
    role = changes.get("user_role")
    if role is not None and role != target.user_role:
        if target.pk == actor.pk:
            raise _refused(OWN_ACCOUNT, OWN_ROLE)
        if not actor.is_super_admin:
            raise _refused(SUPER_ADMIN_REQUIRED, CHANGE_ROLE)
    active = changes.get("is_active")
    if active is not None and bool(active) != target.is_active:
        check_action(actor=actor, target=target, action=Action.BLOCK)


# --- what an import may write ------------------------------------------------------------------

NOT_A_CUSTOMER = "not_a_customer"
NEEDS_REVIEW = "needs_review"


class ImportTarget(NamedTuple):
    """What decides whether an import may write to a stored account (IMPORT_TARGET_FIELDS, read
    with the account's customer fields, under the batch's lock when the run or undo writes)."""

    user_role: str
    is_staff: bool
    is_superuser: bool
    password: str
    email_unproven: bool

    @property
    def held(self) -> bool:
        """Someone can sign in to it: it has a usable password (the holder's own, or a
        temporary one an admin handed out). An imported customer has none until then."""
        return bool(self.password) and not self.password.startswith(UNUSABLE_PASSWORD_PREFIX)


IMPORT_TARGET_FIELDS = ImportTarget._fields


class Refusal(NamedTuple):
    code: str
    field: str
    message: str


def import_refusal(
    target: ImportTarget, *, match: str | None, fields: Iterable[str]
) -> Refusal | None:
    """Why an import (its preview, its run, its undo's restore) may not write `fields` of this
    account, matched by `match` (None for an undo), or None when it may. The one rule:

    - only a plain customer (role CUSTOMER, neither is_staff nor is_superuser) is written;
    - an email its holder chose themselves (sign-up, profile) and nobody vouched for proves
      nothing: a row is not matched to the account by it;
    - the phone (the account's sign-in identity) of an account someone can sign in to is not
      changed: that would hand the account to whoever holds the new number. Staff change it
      from the customer's page, one account at a time, where the change is recorded."""
    if target.user_role != Role.CUSTOMER or target.is_staff or target.is_superuser:
        return Refusal(NOT_A_CUSTOMER, "", "The account is not a plain customer account.")
    if match == "email" and target.email_unproven:
        return Refusal(
            NEEDS_REVIEW,
            "email",
            "The customer set this email themselves and it is not verified, so it does not "
            "identify them: match by phone or shipping mark, or edit the customer.",
        )
    if "phone" in fields and target.held:
        return Refusal(
            NEEDS_REVIEW,
            "phone",
            "The customer has a password, so an import does not change their phone (it signs "
            "them in): change it on the customer's page.",
        )
    return None
