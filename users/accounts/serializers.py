"""Sign-in and password-reset input (types only), and the signed-in user's answer."""

from rest_framework import serializers

from users.customers.serializers import PROFILE_FIELDS, ProfileSerializer
from users.models import User


def _identifier(help_text: str) -> serializers.CharField:
    return serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=254, help_text=help_text
    )


class LoginInputSerializer(serializers.Serializer):
    phone = _identifier("Phone number in any usual format, or use `email`.")
    email = _identifier("Email address, instead of `phone`.")
    identifier = _identifier("Phone number or email, instead of either.")
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


class UserOutputSerializer(ProfileSerializer):
    is_staff = serializers.BooleanField(source="is_staff_member")

    class Meta:
        model = User
        fields = [
            *PROFILE_FIELDS,
            "is_staff",
            "is_verified",
            "is_active",
            "date_joined",
            "last_login",
        ]
        read_only_fields = fields


class LoginOutputSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField()
    user = UserOutputSerializer()
    tokens = serializers.DictField(child=serializers.CharField())


class PasswordResetRequestSerializer(serializers.Serializer):
    phone = serializers.CharField(max_length=64)


class PasswordResetConfirmSerializer(serializers.Serializer):
    phone = serializers.CharField(max_length=64)
    pin = serializers.CharField(max_length=12)
    new_password = serializers.CharField(max_length=256, trim_whitespace=False)
