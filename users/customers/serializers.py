"""User input (types, and the limits the schema documents: the rules are in
users.customers.rules, users.customers.roles and the services) and the one user
representation every answer shares: sign-in, profile, list rows, one user (SPA-CONTRACT.md
2.10)."""

from collections.abc import Container, Mapping

from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator, RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from users import models as m
from users.customers import rules, selectors
from users.models import Region, Role, User, UserType, Warehouse, is_staff_member
from users.web.fields import StrictBooleanField, StrictCharField, TooLongValidator

SUBJECT_MAX = 100
MESSAGE_MAX = 1000


class _MarkValidator(RegexValidator):
    """A mark as typed against its pattern (documented as the schema's `pattern`); one of only
    spaces, where a mark is needed, is `required` (as the rules say once it is trimmed)."""

    def __init__(self, pattern: str):
        super().__init__(pattern, rules.SHIPPING_MARK_FORM, rules.INVALID_SHIPPING_MARK)

    def __call__(self, value):
        if not str(value).strip() and not self.regex.search(str(value)):
            raise ValidationError("This field is required.", code=rules.REQUIRED)
        super().__call__(value)


class _Text(StrictCharField):
    """Text as sent, and only text: no trimming here, and no rule but the longest text taken
    (counted as sent; the service cleans what is left and reports its problems with the same
    codes as an import). `required` fields may not be blank or null either: `required`, as
    the customer rules say."""

    def __init__(self, *, max_length: int, required: bool = False, pattern: str = "", **kwargs):
        kwargs.setdefault("allow_blank", not required)
        kwargs.setdefault("allow_null", not required)
        super().__init__(required=required, trim_whitespace=False, **kwargs)
        # A NUL is reported by the service as invalid_characters, like any control character.
        self.validators = [
            v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)
        ]
        self.validators.append(TooLongValidator(max_length))
        if pattern:
            self.validators.append(_MarkValidator(pattern))

    def fail(self, key, **kwargs):
        super().fail(rules.REQUIRED if key in ("blank", "null") else key, **kwargs)


@extend_schema_field(
    {
        "nullable": True,
        "description": "Blank or null: none.",
        "anyOf": [
            {"type": "string", "format": "email", "maxLength": m.EMAIL_MAX},
            {"type": "string", "maxLength": 0},
        ],
    }
)
class _EmailText(_Text):
    """An email address or blank (documented as such; the service checks it)."""


@extend_schema_field(
    {
        "nullable": True,
        "anyOf": [
            {"type": "string", "enum": list(Region.values)},
            {"type": "string", "maxLength": 0},
        ],
        "description": "A region code; blank or null: the default region. A region's name in "
        "any case and spacing is taken too (North East, north east).",
    }
)
class _RegionText(_Text):
    pass


@extend_schema_field(
    {
        "nullable": True,
        "anyOf": [
            {"type": "string", "enum": list(UserType.values)},
            {"type": "string", "maxLength": 0},
        ],
        "description": "Blank or null: INDIVIDUAL. The name in any case is taken too (business).",
    }
)
class _UserTypeText(_Text):
    pass


def _password(**kwargs) -> serializers.CharField:
    return StrictCharField(
        required=False, write_only=True, trim_whitespace=False, max_length=256, **kwargs
    )


def _mark(*, required: bool) -> _Text:
    if required:
        return _Text(
            max_length=m.SHIPPING_MARK_MAX, required=True, pattern=rules.SHIPPING_MARK_INPUT
        )
    return _Text(
        max_length=m.SHIPPING_MARK_MAX,
        pattern=rules.SHIPPING_MARK_INPUT_OR_BLANK,
        help_text="Blank: one is generated (`PM 1 KWAME`, then `PM 1 KWAME02`...).",
    )


class UserInputSerializer(serializers.Serializer):
    """A create: the SPA's New Client and New Admin bodies. Keys it also sends that the role
    decides here (`can_*`) are ignored."""

    phone = _Text(
        max_length=rules.PHONE_TEXT_MAX,
        required=True,
        help_text="In any usual format (0241234567, +233 24 123 4567); stored as E.164.",
    )
    first_name = _Text(max_length=m.FIRST_NAME_MAX, required=True)
    last_name = _Text(max_length=m.LAST_NAME_MAX, required=True)
    email = _EmailText(max_length=m.EMAIL_MAX)
    shipping_mark = _mark(required=False)
    region = _RegionText(max_length=rules.REGION_TEXT_MAX)
    company_name = _Text(max_length=m.COMPANY_NAME_MAX)
    nickname = _Text(max_length=m.NICKNAME_MAX)
    user_type = _UserTypeText(max_length=rules.USER_TYPE_TEXT_MAX)
    user_role = serializers.ChoiceField(choices=Role.choices, required=False, allow_blank=True)
    accessible_warehouses = serializers.ListField(
        child=serializers.ChoiceField(choices=Warehouse.choices),
        required=False,
        max_length=len(Warehouse.choices),
        help_text="Staff accounts only; a customer's is always empty.",
    )
    is_active = StrictBooleanField(required=False)
    is_verified = StrictBooleanField(required=False)
    password = _password(
        help_text="Temporary: it signs in for TEMPORARY_PASSWORD_HOURS, until the holder changes "
        "it. Without one the account has no usable password."
    )
    confirm_password = _password()

    def to_internal_value(self, data):
        """Every problem at once, as an import reports them: when a field's type, length or
        form is refused here, the customer rules still judge the fields that passed."""
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as error:
            if not isinstance(data, Mapping) or not isinstance(error.detail, dict):
                raise
            raise serializers.ValidationError(_with_rule_problems(error.detail, data)) from None

    def validate(self, attrs):
        if attrs.get("user_role") == "":
            del attrs["user_role"]
        return attrs


def _with_rule_problems(errors: dict, data: Mapping) -> dict:
    """`errors` plus the customer rules' verdicts on the other customer fields of `data`, in
    the rules' field order (the order an import reports them in)."""
    passed = {
        name: data[name]
        for name in rules.CUSTOMER_FIELDS
        if name in data and name not in errors and isinstance(data[name], str | None)
    }
    _, problems = rules.clean_customer(passed, partial=True)
    found = dict(errors)
    for problem in problems:
        found.setdefault(problem.field, []).append(ErrorDetail(problem.message, code=problem.code))
    order = {name: index for index, name in enumerate(rules.CUSTOMER_FIELDS)}
    return dict(sorted(found.items(), key=lambda item: order.get(item[0], len(order))))


class UserEditInputSerializer(UserInputSerializer):
    """An edit: PUT (the whole user: phone, names and mark required) and PATCH (the fields
    sent; the SPA's Edit Client sends all twelve). A mark may not be blank here."""

    shipping_mark = _mark(required=True)


class PasswordResetInputSerializer(serializers.Serializer):
    new_password = StrictCharField(max_length=256, trim_whitespace=False)
    confirm_password = _password()


class MessageInputSerializer(serializers.Serializer):
    subject = StrictCharField(max_length=SUBJECT_MAX)
    message = StrictCharField(max_length=MESSAGE_MAX)


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


def user_json(values: Mapping, *, shown_creators: Container[int] | None = None) -> dict:
    """The user as every answer shows it, from USER_VALUES (a values() row or values_of()).

    `shown_creators`: the creators the caller may see (users.customers.roles.visible); any
    other creator is shown as null. None for the holder's own answers (sign-in, profile)."""
    creator = values["created_by_id"]
    if shown_creators is not None and creator not in shown_creators:
        creator = None
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
        "created_by": creator,
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
        """With a `viewer` in the context (staff reading someone's account), the creator only
        if the viewer may see them."""
        viewer = self.context.get("viewer")
        shown = None
        if viewer is not None:
            shown = selectors.visible_ids(actor=viewer, ids=[instance.created_by_id])
        return user_json(values_of(instance), shown_creators=shown)


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
    # Annotated by the reads (selectors.shown_user): null when the caller may not see them.
    changed_by = serializers.IntegerField(source="shown_changed_by", allow_null=True)
    changed_at = serializers.DateTimeField()
    source_row = serializers.IntegerField(allow_null=True)
    fields = serializers.DictField(child=serializers.DictField())
