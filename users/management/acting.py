"""Who a command acts as: the staff user `--as PHONE` names, or the first active super admin."""

from django.core.management.base import CommandError

from users.accounts import selectors
from users.models import User


def acting_user(as_phone: str | None) -> User:
    if as_phone:
        user = selectors.user_find_by_identifier(identifier=as_phone)
        if user is None or not user.is_staff_member:
            raise CommandError(f"No staff user with phone {as_phone}.")
        return user
    user = User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
    if user is None:
        raise CommandError("No super admin exists; name a staff user with --as PHONE.")
    return user
