"""User input (types only: the rules are in users.customers.rules, users.customers.roles and
the services) and the one user representation every answer shares: sign-in, profile, list
rows, one user (SPA-CONTRACT.md 2.10)."""

from collections.abc import Mapping

from django.core.validators import ProhibitNullCharactersValidator
from rest_framework import serializers

from users.models import Region, Role, User, Warehouse, is_staff_member

SUBJECT_MAX = 100
MESSAGE_MAX = 1000


class _Text(serializers.CharField):
    """Text as sent: no trimming here, no length check here (the service reports those with the
    same codes as an import)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("trim_whitespace", False)
        kwargs.setdefault("max_length", 10_000)
        super().__init__(**kwargs)
        # A NUL is reported by the service as invalid_characters, like any control character.
        self.validators = [
            v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)
        ]


def _password(**kwargs) -> serializers.CharField:
    return serializers.CharField(
        required=False, write_only=True, trim_whitespace=False, max_length=256, **kwargs
    )


class UserInputSerializer(serializers.Serializer):
    """A create or an edit: the SPA's New Client, New Admin and Edit Client bodies. Keys it
    also sends that the role decides here (`can_*`) are ignored."""

    phone = _Text()
    first_name = _Text()
    last_name = _Text()
    email = _Text()
    shipping_mark = _Text()
    region = _Text(help_text="A region code (NORTH_EAST) or name (North East); blank: default.")
    company_name = _Text()
    nickname = _Text()
    user_type = _Text(help_text="INDIVIDUAL or BUSINESS (any case); blank: INDIVIDUAL.")
    user_role = serializers.ChoiceField(choices=Role.choices, required=False, allow_blank=True)
    accessible_warehouses = serializers.ListField(
        child=serializers.ChoiceField(choices=Warehouse.choices),
        required=False,
        max_length=len(Warehouse.choices),
        help_text="Staff accounts only; a customer's is always empty.",
    )
    is_active = serializers.BooleanField(required=False)
    is_verified = serializers.BooleanField(required=False)
    password = _password(
        help_text="Temporary: it signs in for TEMPORARY_PASSWORD_HOURS, until the holder changes "
        "it. Without one the account has no usable password."
    )
    confirm_password = _password()

    def validate(self, attrs):
        if attrs.get("user_role") == "":
            del attrs["user_role"]
        return attrs


class PasswordResetInputSerializer(serializers.Serializer):
    new_password = serializers.CharField(max_length=256, trim_whitespace=False)
    confirm_password = _password()


class MessageInputSerializer(serializers.Serializer):
    subject = serializers.CharField(max_length=SUBJECT_MAX)
    message = serializers.CharField(max_length=MESSAGE_MAX)


# What the representation reads of a user: model fields, so that a list can read them with
# values() instead of building objects.
USER_VALUES = (
    "id",
    "phone",
    "email",
    "first_name",
    "last_name",
    "nickname",
    "company_name",
    "shipping_mark",
    "region",
    "user_role",
    "user_type",
    "is_staff",
    "is_superuser",
    "is_active",
    "is_verified",
    "date_joined",
    "last_login",
    "accessible_warehouses",
    "password_expires_at",
    "created_by_id",
    "import_job_id",
    "source_row",
)
_REGION_LABELS = dict(Region.choices)
_datetime = serializers.DateTimeField()


def _when(value) -> str | None:
    return _datetime.to_representation(value) if value is not None else None


def user_json(values: Mapping) -> dict:
    """The user as every answer shows it, from USER_VALUES (a values() row or values_of())."""
    staff = is_staff_member(
        user_role=values["user_role"],
        is_staff=values["is_staff"],
        is_superuser=values["is_superuser"],
    )
    import_job = values["import_job_id"]
    return {
        "id": values["id"],
        "phone": values["phone"],
        "email": values["email"],
        "first_name": values["first_name"],
        "last_name": values["last_name"],
        "full_name": f"{values['first_name']} {values['last_name']}".strip(),
        "nickname": values["nickname"],
        "company_name": values["company_name"],
        "shipping_mark": values["shipping_mark"],
        "region": values["region"],
        "region_display": _REGION_LABELS.get(values["region"], values["region"]),
        "user_role": values["user_role"],
        "user_type": values["user_type"],
        "is_admin_user": staff,
        "is_staff": staff,
        "is_active": values["is_active"],
        "is_verified": values["is_verified"],
        "date_joined": _when(values["date_joined"]),
        "last_login": _when(values["last_login"]),
        "accessible_warehouses": list(values["accessible_warehouses"] or []),
        "password_temporary": values["password_expires_at"] is not None,
        "password_expires_at": _when(values["password_expires_at"]),
        "created_by": values["created_by_id"],
        "import_job": str(import_job) if import_job is not None else None,
        "source_row": values["source_row"],
    }


def values_of(user: User) -> dict:
    return {name: getattr(user, name) for name in USER_VALUES}


class UserSerializer(serializers.Serializer):
    """Documents user_json, which makes the answer (one shape for a row and for one user)."""

    id = serializers.IntegerField()
    phone = serializers.CharField()
    email = serializers.EmailField(allow_null=True)
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    full_name = serializers.CharField()
    nickname = serializers.CharField(allow_blank=True)
    company_name = serializers.CharField(allow_blank=True)
    shipping_mark = serializers.CharField()
    region = serializers.ChoiceField(choices=Region.choices)
    region_display = serializers.CharField()
    user_role = serializers.ChoiceField(choices=Role.choices)
    user_type = serializers.CharField(help_text="INDIVIDUAL or BUSINESS.")
    is_admin_user = serializers.BooleanField(
        help_text="Staff: may use the admin screens and create customers."
    )
    is_staff = serializers.BooleanField(help_text="The same as is_admin_user.")
    is_active = serializers.BooleanField()
    is_verified = serializers.BooleanField()
    date_joined = serializers.DateTimeField()
    last_login = serializers.DateTimeField(allow_null=True)
    accessible_warehouses = serializers.ListField(child=serializers.CharField())
    password_temporary = serializers.BooleanField(
        help_text="The password was set by someone else and signs in until password_expires_at."
    )
    password_expires_at = serializers.DateTimeField(allow_null=True)
    created_by = serializers.IntegerField(allow_null=True)
    import_job = serializers.UUIDField(allow_null=True)
    source_row = serializers.IntegerField(allow_null=True)

    def to_representation(self, instance: User) -> dict:
        return user_json(values_of(instance))


class UserActionOutputSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField()
    user = UserSerializer()


class PasswordResetOutputSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField()
    password_expires_at = serializers.DateTimeField()


class UserStatisticsSerializer(serializers.Serializer):
    total_users = serializers.IntegerField()
    active_users = serializers.IntegerField()
    admin_users = serializers.IntegerField(help_text="Staff accounts (every role but CUSTOMER).")
    customer_users = serializers.IntegerField()
    active_customers = serializers.IntegerField()
    business_users = serializers.IntegerField()
    individual_users = serializers.IntegerField()
    recent_registrations = serializers.IntegerField(help_text="Joined in the last 30 days.")


class CustomerChangeSerializer(serializers.Serializer):
    """One change of a customer's fields: {field: {old, new}}, by whom, from which import (or
    its undo, or an edit)."""

    id = serializers.IntegerField()
    customer = serializers.IntegerField(source="customer_id")
    import_job = serializers.UUIDField(source="import_job_id", allow_null=True)
    source = serializers.CharField()
    changed_by = serializers.IntegerField(source="changed_by_id", allow_null=True)
    changed_at = serializers.DateTimeField()
    source_row = serializers.IntegerField(allow_null=True)
    fields = serializers.DictField(child=serializers.DictField())
