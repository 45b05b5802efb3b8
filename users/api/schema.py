"""What every endpoint's schema shares (the error envelope and the plain message answer), and
the views that serve the schema and its documentation pages."""

from drf_spectacular.utils import OpenApiResponse
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer


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


class _ErrorsAsJson:
    """Errors in the JSON envelope, whatever the view renders when it succeeds (YAML, HTML)."""

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response


class SchemaView(_ErrorsAsJson, SpectacularAPIView):
    """The OpenAPI schema (who may read it: SPECTACULAR_SETTINGS' SERVE_PERMISSIONS)."""


class SwaggerView(_ErrorsAsJson, SpectacularSwaggerView):
    """Swagger UI, its scripts from the project's static files (drf-spectacular-sidecar)."""


class RedocView(_ErrorsAsJson, SpectacularRedocView):
    """ReDoc, its script from the project's static files (drf-spectacular-sidecar)."""
