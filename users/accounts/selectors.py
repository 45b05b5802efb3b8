"""Reads for signing in."""

from django.db.models.functions import Lower

from users.customers import rules
from users.models import User


def user_find_by_identifier(*, identifier: str) -> User | None:
    """The user a sign-in identifier names: an email, or a phone number in any accepted format."""
    identifier = (identifier or "").strip()
    if not identifier:
        return None
    if "@" in identifier:
        return (
            User.objects.alias(email_ci=Lower("email")).filter(email_ci=identifier.lower()).first()
        )
    try:
        phone = rules.normalize_phone(identifier)
    except rules.FieldError:
        return None
    return User.objects.filter(phone=phone).first()
