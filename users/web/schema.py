"""What every endpoint's schema shares (the error envelope and the plain message answer, the
statuses any request can get, a body that needs one of several fields), and the views that
serve the schema and its documentation pages."""

from drf_spectacular.extensions import OpenApiSerializerExtension
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


_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
# What any request can be answered, whatever its operation (users.web.errors codes), added to
# every operation by add_common_responses.
COMMON_RESPONSES = {
    "405": "`method_not_allowed`: the path does not take this method.",
    "406": "`not_acceptable`: the Accept header names no type this operation answers with.",
    "413": "`request_too_large`: the body is over the size limit (an upload's is "
    "`file_too_large`).",
    "414": "`uri_too_long`: the query string is over 4,096 bytes. A request line over 8,190 "
    "bytes never reaches the application: the web server answers it with a short text/html "
    "page.",
}
# ... and every operation that reads a body.
BODY_RESPONSES = {
    "415": "`unsupported_media_type`: the body's Content-Type is not one this operation reads.",
}


def add_common_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: COMMON_RESPONSES (and BODY_RESPONSES) in every
    operation that does not document them itself; and a body whose schema needs a field
    (`required`, `minProperties`, `anyOf` alternatives, or `oneOf` alternatives that each need
    one) is a required body."""
    components = result.get("components", {}).get("schemas", {})
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            body = operation.get("requestBody")
            if body is not None and any(
                _needs_a_field(components, media.get("schema", {}))
                for media in body.get("content", {}).values()
            ):
                body["required"] = True
            responses = operation.setdefault("responses", {})
            extra = COMMON_RESPONSES | (BODY_RESPONSES if "requestBody" in operation else {})
            for code, description in extra.items():
                answer = responses.setdefault(code, {"content": dict(_ERROR)})
                answer["description"] = answer.get("description") or description
                if code == "414":
                    answer["content"]["text/html"] = {"schema": {"type": "string"}}
    return result


def _needs_a_field(components: dict, schema: dict) -> bool:
    ref = schema.get("$ref", "")
    schema = components.get(ref.rsplit("/", 1)[-1], {}) if ref else schema
    one_of = schema.get("oneOf") or []
    return bool(
        schema.get("required")
        or schema.get("minProperties")
        or schema.get("anyOf")
        or (one_of and all(_needs_a_field(components, choice) for choice in one_of))
    )


class _OneOfRequired(OpenApiSerializerExtension):
    """A request serializer with `one_of_required = {field: schema}` needs at least one of
    those fields, each matching its schema (a login: a phone, an email or an identifier that
    is not blank). Documented as `anyOf`, one alternative a field."""

    target_class = "rest_framework.serializers.Serializer"
    match_subclasses = True

    @classmethod
    def _matches(cls, target) -> bool:
        return bool(getattr(target, "one_of_required", None)) and super()._matches(target)

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_basic_serializer(self.target, direction)
        if direction == "request":
            schema["anyOf"] = [
                {"required": [name], "properties": {name: constraint}}
                for name, constraint in self.target.one_of_required.items()
            ]
        return schema


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
