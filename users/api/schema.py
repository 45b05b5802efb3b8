"""What every endpoint's schema shares: the error envelope and the plain message answer."""

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class MessageSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    """The envelope every error answers with."""

    success = serializers.BooleanField(default=False)
    code = serializers.CharField()
    message = serializers.CharField()
    detail = serializers.CharField(
        help_text="The sentence to show a person: `message`, or the fields' own messages."
    )
    errors = serializers.DictField(required=False)


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """Schema entries for the error envelope under the given statuses."""
    return {code: OpenApiResponse(ErrorSerializer) for code in codes}
