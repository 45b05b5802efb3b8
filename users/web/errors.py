"""Errors a client can cause, and the one handler that turns every error into the JSON envelope

    {"success": false, "code": "snake_case_code", "message": "...", "detail": "...",
     "errors": {...}}

`detail` is the sentence to show a person: the SPA shows a string `detail` as it is, and
anything else as "key: value | ...". It is `message`, or for field errors the fields' own
messages. The codes are named in users.errors; the messages the handler gives DRF's own errors
are named here, so that tests assert them.
"""

import logging

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from users.errors import (
    AUTHENTICATION_FAILED,
    BAD_REQUEST,
    METHOD_NOT_ALLOWED,
    NOT_ACCEPTABLE,
    NOT_AUTHENTICATED,
    NOT_FOUND,
    PARSE_ERROR,
    PERMISSION_DENIED,
    REQUEST_TOO_LARGE,
    SERVER_ERROR,
    THROTTLED,
    UNSUPPORTED_MEDIA_TYPE,
    VALIDATION_ERROR,
    ApplicationError,
)

logger = logging.getLogger(__name__)

_DRF_CODES = {
    drf.NotAuthenticated: NOT_AUTHENTICATED,
    drf.AuthenticationFailed: AUTHENTICATION_FAILED,
    drf.PermissionDenied: PERMISSION_DENIED,
    drf.NotFound: NOT_FOUND,
    drf.MethodNotAllowed: METHOD_NOT_ALLOWED,
    drf.NotAcceptable: NOT_ACCEPTABLE,
    drf.UnsupportedMediaType: UNSUPPORTED_MEDIA_TYPE,
    drf.ParseError: PARSE_ERROR,
    drf.Throttled: THROTTLED,
}

MESSAGES = {
    VALIDATION_ERROR: "Some fields are not valid.",
    NOT_AUTHENTICATED: "Authentication credentials were not provided.",
    PERMISSION_DENIED: "You do not have permission to do this.",
    NOT_FOUND: "Not found.",
    THROTTLED: "Too many requests. Try again later.",
    SERVER_ERROR: "Something went wrong on our side. Try again later.",
}


def invalid_choice(field: str, choices, message: str) -> ApplicationError:
    """A 400 validation_error for a query parameter outside its choices."""
    return ApplicationError(
        VALIDATION_ERROR,
        message,
        errors={field: [{"message": f"One of: {', '.join(choices)}.", "code": "invalid_choice"}]},
    )


def envelope(
    code: str, message: str, errors: dict | list | None = None, *, detail: str | None = None
) -> dict:
    body = {"success": False, "code": code, "message": message, "detail": detail or message}
    if errors:
        body["errors"] = errors
    return body


def _label(field: str) -> str:
    return field.replace("_", " ").capitalize()


def validation_detail(errors: dict) -> str | None:
    """The field errors as one sentence for a person: "Phone: A customer with this phone
    number already exists. Email: Not a valid email address." (None when they are nested,
    e.g. per row of a list: the envelope's message is shown then)."""
    parts = []
    for field, items in errors.items():
        messages = [
            item["message"] for item in items if isinstance(item, dict) and "message" in item
        ]
        if not messages:
            return None
        text = " ".join(dict.fromkeys(m if m.endswith(".") else f"{m}." for m in messages))
        parts.append(text if field == "non_field_errors" else f"{_label(field)}: {text}")
    return " ".join(parts) or None


def _validation_details(detail) -> dict:
    """DRF's detail as {field: [{"message", "code"}]}; others under "non_field_errors"."""
    if isinstance(detail, dict):
        return {key: _as_list(value) for key, value in detail.items()}
    return {"non_field_errors": _as_list(detail)}


def _as_list(value) -> list:
    if isinstance(value, list):
        out = []
        for item in value:
            out.extend(_as_list(item) if isinstance(item, list) else [_one(item)])
        return out
    if isinstance(value, dict):
        return [_validation_details(value)]
    return [_one(value)]


def _one(item) -> dict:
    if isinstance(item, dict):
        return _validation_details(item)
    return {"message": str(item), "code": getattr(item, "code", "invalid")}


def _django_validation_details(error: DjangoValidationError) -> dict:
    if hasattr(error, "error_dict"):
        return {
            field: [{"message": e.messages[0], "code": e.code or "invalid"} for e in errors]
            for field, errors in error.error_dict.items()
        }
    return {
        "non_field_errors": [
            {"message": e.messages[0], "code": e.code or "invalid"} for e in error.error_list
        ]
    }


def exception_handler(exc: Exception, context: dict) -> Response:
    """Every exception raised under a DRF view becomes the envelope; unknown ones a bare 500."""
    if isinstance(exc, RequestDataTooBig):
        return Response(
            envelope(REQUEST_TOO_LARGE, "The request body is too large."),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, DataError):
        # A value the database refuses (out of its range): the client's input, not our state.
        logger.warning("[API-DATA-ERROR] view=%s error=%s", _view_name(context), type(exc).__name__)
        return Response(
            envelope(BAD_REQUEST, "A value in the request is out of range."),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, SuspiciousOperation):
        return Response(
            envelope(BAD_REQUEST, "The request could not be read."),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, ApplicationError):
        return Response(
            envelope(exc.code, exc.message, exc.errors),
            status=exc.status_code,
            headers=exc.headers,
        )
    if isinstance(exc, DjangoValidationError):
        return Response(
            _validation_envelope(_django_validation_details(exc)),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = drf.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        logger.error("[API-ERROR] view=%s", _view_name(context), exc_info=exc)
        return Response(
            envelope(SERVER_ERROR, MESSAGES[SERVER_ERROR]),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )

    if isinstance(exc, drf.ValidationError):
        response.data = _validation_envelope(_validation_details(exc.detail))
        return response

    code = _DRF_CODES.get(type(exc)) or _code_of(exc)
    detail = exc.detail if isinstance(exc, drf.APIException) else str(exc)
    if isinstance(detail, dict):
        # simplejwt's token errors carry {"detail", "code", "messages"}.
        message = str(detail.get("detail", MESSAGES.get(code, "")))
        code = str(detail.get("code") or code)
    else:
        message = str(detail)
    if isinstance(exc, drf.Throttled) and exc.wait:
        message = f"{MESSAGES[THROTTLED].rstrip('.')} in {int(exc.wait)} seconds."
    response.data = envelope(code, message)
    return response


def _validation_envelope(errors: dict) -> dict:
    return envelope(
        VALIDATION_ERROR, MESSAGES[VALIDATION_ERROR], errors, detail=validation_detail(errors)
    )


def _code_of(exc: Exception) -> str:
    code = getattr(exc, "default_code", None)
    return code if isinstance(code, str) else BAD_REQUEST


def _view_name(context: dict) -> str:
    view = context.get("view")
    return type(view).__name__ if view is not None else "-"


def json_error_response(code: str, message: str, http_status: int) -> JsonResponse:
    """The envelope outside DRF views (Django's 404/500 handlers, middleware)."""
    return JsonResponse(envelope(code, message), status=http_status)
