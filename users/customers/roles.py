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

from enum import StrEnum

from django.db.models import Q
from rest_framework import status

from users.api.errors import ApplicationError
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


def visible(actor: User) -> Q:
    """The users `actor` may see: everyone for a super admin, everyone but super admins for
    other staff, nobody for anyone else."""
    if actor.is_super_admin:
        return Q()
    if actor.is_staff_member:
        return ~Q(user_role=Role.SUPER_ADMIN) & Q(is_superuser=False)
    return Q(pk__in=[])


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


def check_changes(*, actor: User, target: User, changes: dict) -> None:
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
