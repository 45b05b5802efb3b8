"""The project's own errors and their codes, below every package: services, the excel reader
and the import pipeline raise them; the web layer (users.web.errors) turns them into the JSON
envelope, and the admin pages and commands show their message. Each code is named once, here,
so that every layer and the tests use the same constant.
"""

from typing import Any

from rest_framework import status

# The request and the client.
VALIDATION_ERROR = "validation_error"
NOT_AUTHENTICATED = "not_authenticated"
AUTHENTICATION_FAILED = "authentication_failed"
INVALID_CREDENTIALS = "invalid_credentials"
TOKEN_NOT_VALID = "token_not_valid"  # noqa: S105 (an error code)
ACCOUNT_INACTIVE = "account_inactive"
VERIFICATION_REQUIRED = "verification_required"
PERMISSION_DENIED = "permission_denied"
NOT_FOUND = "not_found"
METHOD_NOT_ALLOWED = "method_not_allowed"
NOT_ACCEPTABLE = "not_acceptable"
UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
THROTTLED = "throttled"
SERVER_ERROR = "server_error"
BAD_REQUEST = "bad_request"
REQUEST_TOO_LARGE = "request_too_large"
URI_TOO_LONG = "uri_too_long"
# A texted PIN (password reset, phone verification) wrong, spent or of no account: one code.
INVALID_PIN = "invalid_pin"
# JSON bodies (users.web.parsers): not JSON, or JSON of a shape refused.
PARSE_ERROR = "parse_error"
TOO_MANY_VALUES = "too_many_values"

# An uploaded file as a whole (row problems are data, not errors).
FILE_TOO_LARGE = "file_too_large"
UNSUPPORTED_FILE_TYPE = "unsupported_file_type"
EMPTY_FILE = "empty_file"
CORRUPT_FILE = "corrupt_file"
UNSAFE_FILE = "unsafe_file"
NO_DATA = "no_data"
TOO_MANY_ROWS = "too_many_rows"
MISSING_COLUMNS = "missing_columns"
INVALID_COLUMN_MAPPING = "invalid_column_mapping"
NO_FILE = "no_file"

# A file error's status where it is not 400.
_FILE_STATUS = {
    FILE_TOO_LARGE: status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    UNSUPPORTED_FILE_TYPE: status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
}


class ApplicationError(Exception):
    """An error a client caused, with a stable code, an HTTP status and optional details."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status_code: int = status.HTTP_400_BAD_REQUEST,
        errors: dict[str, Any] | list[Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status_code = status_code
        self.errors = errors
        self.headers = headers or {}


class FileError(ApplicationError):
    """The upload as a whole cannot be imported; `code` is one of the file codes above, and
    its status follows from it (413 too large, 415 not a spreadsheet, else 400)."""

    def __init__(self, code: str, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(
            code,
            message,
            status_code=_FILE_STATUS.get(code, status.HTTP_400_BAD_REQUEST),
            errors=details or {},
        )
