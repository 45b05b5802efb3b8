"""Input serializers parse types only (the rules are in users.normalize and the services);
output serializers shape answers."""

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


class LoginInputSerializer(serializers.Serializer):
    phone = _Text(help_text="Phone number in any usual format, or use `email`.")
    email = _Text(help_text="Email address, instead of `phone`.")
    identifier = _Text(help_text="Phone number or email, instead of either.")
    password = serializers.CharField(max_length=256, trim_whitespace=False)

    def validate(self, attrs):
        identifier = attrs.get("phone") or attrs.get("email") or attrs.get("identifier")
        if not identifier:
            raise serializers.ValidationError(
                {"phone": ["Give a phone number or an email address."]}, code="required"
            )
        attrs["identifier"] = identifier
        return attrs


class RefreshInputSerializer(serializers.Serializer):
    refresh = serializers.CharField(max_length=2000)


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


class UserOutputSerializer(serializers.ModelSerializer):
    full_name = serializers.CharField(source="get_full_name")
    region_display = serializers.CharField(source="get_region_display")
    is_staff = serializers.BooleanField(source="is_staff_member")

    class Meta:
        model = User
        fields = [
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
            "is_staff",
            "is_verified",
            "is_active",
            "date_joined",
            "last_login",
        ]
        read_only_fields = fields


class CustomerOutputSerializer(serializers.ModelSerializer):
    full_name = serializers.CharField(source="get_full_name")
    region_display = serializers.CharField(source="get_region_display")
    created_by = serializers.PrimaryKeyRelatedField(read_only=True)
    import_job = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = User
        fields = [
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
            "is_verified",
            "is_active",
            "date_joined",
            "created_by",
            "import_job",
            "source_row",
        ]
        read_only_fields = fields


class LoginOutputSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField()
    user = UserOutputSerializer()
    tokens = serializers.DictField(child=serializers.CharField())


class MessageSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    """The envelope every error answers with."""

    success = serializers.BooleanField(default=False)
    code = serializers.CharField()
    message = serializers.CharField()
    errors = serializers.DictField(required=False)


class PasswordResetRequestSerializer(serializers.Serializer):
    phone = serializers.CharField(max_length=64)


class PasswordResetConfirmSerializer(serializers.Serializer):
    phone = serializers.CharField(max_length=64)
    pin = serializers.CharField(max_length=12)
    new_password = serializers.CharField(max_length=256, trim_whitespace=False)
