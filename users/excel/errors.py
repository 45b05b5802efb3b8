"""File-level errors: the whole upload is refused (row problems are data, not errors)."""

from rest_framework import status

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

HTTP_STATUS = {
    FILE_TOO_LARGE: status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    UNSUPPORTED_FILE_TYPE: status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
}


class FileError(Exception):
    """The upload as a whole cannot be imported; `code` is one of the constants above."""

    def __init__(self, code: str, message: str, *, details: dict | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}

    @property
    def http_status(self) -> int:
        return HTTP_STATUS.get(self.code, status.HTTP_400_BAD_REQUEST)
