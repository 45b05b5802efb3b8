"""Input of sign-in, profile, password change and reset (types only), and the sign-in answer;
a user is always users.customers.serializers.UserSerializer."""

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.serializers import TokenRefreshSerializer

from users.customers.serializers import UserInputSerializer, UserSerializer
from users.web.fields import StrictCharField


def _identifier(help_text: str) -> serializers.CharField:
    return StrictCharField(
        required=False, allow_blank=True, allow_null=True, max_length=254, help_text=help_text
    )


_GIVEN = {"type": "string", "minLength": 1}


class LoginInputSerializer(serializers.Serializer):
    """The password and one of phone, email or identifier (the first of them not blank)."""

    phone = _identifier("Phone number in any usual format, or use `email`.")
    email = _identifier("Email address, instead of `phone`.")
    identifier = _identifier("Phone number or email, instead of either.")
    password = StrictCharField(max_length=256, trim_whitespace=False)

    one_of_required = {"phone": _GIVEN, "email": _GIVEN, "identifier": _GIVEN}

    def validate(self, attrs):
        identifier = attrs.get("phone") or attrs.get("email") or attrs.get("identifier")
        if not identifier:
            raise serializers.ValidationError(
                {"phone": ["Give a phone number or an email address."]}, code="required"
            )
        attrs["identifier"] = identifier
        return attrs


class RefreshInputSerializer(serializers.Serializer):
    refresh = StrictCharField(max_length=2000)


class RefreshSerializer(TokenRefreshSerializer):
    """simplejwt's, with a deleted account's token answered 401 like any other dead token
    (simplejwt looks the user up with .get() and would fail with a 500)."""

    def validate(self, attrs):
        try:
            return super().validate(attrs)
        except get_user_model().DoesNotExist:
            raise InvalidToken("Token is invalid or expired.") from None


class RefreshOutputSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField(
        required=False, help_text="Only with JWT_ROTATE_REFRESH_TOKENS on."
    )


class LoginOutputSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField()
    user = UserSerializer()
    tokens = serializers.DictField(child=serializers.CharField())


# Fields of the profile a user may change themselves, and those shown that they may not (they
# change through an administrator, or a proof: an SMS PIN for the phone).
PROFILE_EDITABLE = (
    "first_name",
    "last_name",
    "nickname",
    "company_name",
    "email",
    "region",
    "user_type",
)
PROFILE_READ_ONLY = (
    "phone",
    "shipping_mark",
    "user_role",
    "is_verified",
    "is_active",
    "accessible_warehouses",
)


@extend_schema_serializer(exclude_fields=PROFILE_READ_ONLY)
class ProfileInputSerializer(UserInputSerializer):
    """The SPA's profile form: {first_name, last_name, company_name, email, phone, region,
    user_type}. A read-only field may be sent as it is (the form always sends the phone): the
    schema leaves them out (phone, shipping mark, role, flags, warehouses), since only their
    current values are taken."""

    class Meta:
        fields = (*PROFILE_EDITABLE, *PROFILE_READ_ONLY)

    def get_fields(self):
        fields = super().get_fields()
        for field in fields.values():
            field.required = False  # a profile edit sends the fields it changes
        return {name: fields[name] for name in self.Meta.fields}


class PasswordChangeInputSerializer(serializers.Serializer):
    old_password = serializers.CharField(max_length=256, trim_whitespace=False)
    new_password = serializers.CharField(max_length=256, trim_whitespace=False)
    confirm_password = serializers.CharField(max_length=256, trim_whitespace=False)


class PasswordResetRequestSerializer(serializers.Serializer):
    phone = StrictCharField(max_length=64)


class PasswordResetConfirmSerializer(serializers.Serializer):
    phone = StrictCharField(max_length=64)
    pin = StrictCharField(max_length=12)
    new_password = StrictCharField(max_length=256, trim_whitespace=False)
