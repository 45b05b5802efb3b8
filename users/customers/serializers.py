"""Customer input (types only: the rules are in users.customers.rules and the services) and the
profile every user answer shares."""

from django.core.validators import ProhibitNullCharactersValidator
from rest_framework import serializers

from users.models import User


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


class CustomerInputSerializer(serializers.Serializer):
    phone = _Text()
    first_name = _Text()
    last_name = _Text()
    email = _Text()
    shipping_mark = _Text()
    region = _Text(help_text="A region code (NORTH_EAST) or name (North East); blank: default.")
    company_name = _Text()
    nickname = _Text()
    is_active = serializers.BooleanField(required=False)
    is_verified = serializers.BooleanField(required=False)


PROFILE_FIELDS = [
    "id",
    "phone",
    "email",
    "first_name",
    "last_name",
    "full_name",
    "nickname",
    "company_name",
    "shipping_mark",
    "region",
    "region_display",
    "user_role",
]


class ProfileSerializer(serializers.ModelSerializer):
    full_name = serializers.CharField(source="get_full_name")
    region_display = serializers.CharField(source="get_region_display")


class CustomerOutputSerializer(ProfileSerializer):
    created_by = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    import_job = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = User
        fields = [
            *PROFILE_FIELDS,
            "is_verified",
            "is_active",
            "date_joined",
            "created_by",
            "import_job",
            "source_row",
        ]
        read_only_fields = fields
