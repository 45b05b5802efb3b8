"""Import input (types only) and the shapes of the answers of a confirmed import: its status,
its undo and the upload dashboard's stats (documenting the dicts users.imports.progress and
users.imports.stats build). The preview's answer: users.imports.preview_serializers; one row's,
a fix's and the remembered mappings': users.imports.row_serializers."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, ParseError

from primepre.body_limit import LEGACY_BULK_CUSTOMERS
from users import errors as file_errors
from users.customers.serializers import CustomerChangeSerializer
from users.errors import FileError
from users.excel.columns import REQUIRED_FIELDS, field_of_header
from users.imports import stats
from users.models import ImportJob
from users.web import parsers
from users.web.fields import NOT_TEXT, StrictBooleanField

# More keys than there are fields is not a mapping.
MAPPING_MAX_KEYS = 32
MAPPING_MAX_VALUES = 2 * MAPPING_MAX_KEYS + 1
# The admin's column mapping: {field: header text or column letter, or None}.
ChosenColumns = dict[str, str | None]
# Some answers have a field named like an attribute the stubs give every serializer or field
# (errors, data, label, required). DRF's metaclass takes declared fields off the class, so the
# name is the field's; the stubs cannot tell, hence `type: ignore[assignment]` on those lines
# (here and in the other serializer modules of the import).


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {"type": "string", "nullable": True},
        "example": {"phone": "Mobile No.", "first_name": "B", "email": None},
    }
)
class ColumnMappingField(serializers.Field[ChosenColumns, Any, ChosenColumns, Any]):
    """{field: header text or column letter, or null}: a JSON object, or in a multipart upload
    that object as JSON text. Which names and columns exist is the pipeline's to say."""

    default_error_messages = {
        "invalid": 'A JSON object such as {{"phone": "Mobile No.", "first_name": "B"}}.',
    }

    def to_internal_value(self, data: Any) -> ChosenColumns:
        if isinstance(data, str):
            # Text that is not JSON is this field's error; JSON over the parser's bounds (too
            # deep, too many values) is the 400 a body of that shape gets.
            try:
                data = parsers.loads(data, max_values=MAPPING_MAX_VALUES) if data.strip() else {}
            except parsers.OverBounds:
                raise
            except ParseError:
                self.fail("invalid")
        if not isinstance(data, dict) or len(data) > MAPPING_MAX_KEYS:
            self.fail("invalid")
        for key, value in data.items():
            if not isinstance(key, str) or not (value is None or isinstance(value, str)):
                self.fail("invalid")
            if len(key) > 64 or (value is not None and len(value) > 255):
                self.fail("invalid")
        return data

    def to_representation(self, value: ChosenColumns) -> ChosenColumns:
        return value


def _choice(
    choices: list[tuple[str, str]], default: str, help_text: str
) -> serializers.ChoiceField:
    return serializers.ChoiceField(
        choices=choices,
        default=default,
        help_text=help_text,
        error_messages={
            "invalid_choice": "One of: " + ", ".join(value for value, _ in choices) + "."
        },
    )


class UploadOptionsSerializer(serializers.Serializer[Any]):
    """What the admin chose beside the file (the file itself is checked by the reader, which
    tells an empty or broken file apart)."""

    mode = _choice(
        ImportJob.Mode.choices,
        ImportJob.Mode.CREATE,
        "create (rows matching a customer are duplicates), update (they update it; the others "
        "are created) or update_only (the others are reported, not created).",
    )
    match = _choice(
        ImportJob.Match.choices,
        ImportJob.Match.PHONE,
        "How a row finds its customer: phone, email or shipping_mark, compared as the "
        "uniqueness rules compare them.",
    )
    blank_clears = serializers.BooleanField(
        default=False,
        help_text="A blank cell erases the stored email, company or nickname (otherwise blank "
        "cells change nothing).",
    )
    column_mapping = ColumnMappingField(
        required=False,
        help_text='Optional, as JSON text: {"phone": "Mobile No.", "first_name": "B"} (a header '
        "text or a column letter per field; null leaves a field out). Over the header matching.",
    )


class UploadInputSerializer(UploadOptionsSerializer):
    file = serializers.FileField(help_text="The spreadsheet: xlsx, xls, xlsb, ods or csv.")


def _text_or_null(name: str) -> serializers.CharField:
    return serializers.CharField(
        required=name in REQUIRED_FIELDS, allow_null=True, allow_blank=True
    )


class LegacyCustomerSerializer(serializers.Serializer[Any]):
    """Documents one customer of the legacy body: a preview's candidate as the SPA sends it
    back. Each customer field is text or null; other keys (source_row_number ...) are kept
    and ignored. The rules are those of an upload: a row breaking them is reported in the
    import's failed rows, not refused here; a list without a first name, last name or phone
    key is refused as `missing_columns`."""

    shipping_mark = _text_or_null("shipping_mark")
    first_name = _text_or_null("first_name")
    last_name = _text_or_null("last_name")
    email = _text_or_null("email")
    phone = _text_or_null("phone")
    region = _text_or_null("region")
    company_name = _text_or_null("company_name")
    nickname = _text_or_null("nickname")
    user_type = _text_or_null("user_type")


@extend_schema_field(LegacyCustomerSerializer)
class LegacyCustomerField(serializers.DictField):
    """One customer of the legacy body, as sent (its own keys kept for the match with the
    preview it came from), each customer field (under its name or any header text an upload
    accepts for it: "Mobile") text or null: a JSON object or number there would otherwise be
    stored as its Python text ("{'a': 1}")."""

    def to_internal_value(self, data: Any) -> dict[Any, Any]:
        record = super().to_internal_value(data)
        wrong = [
            key
            for key, value in record.items()
            if value is not None and not isinstance(value, str) and field_of_header(key)
        ]
        if wrong:
            raise serializers.ValidationError(
                {name: [ErrorDetail(NOT_TEXT, code="invalid")] for name in wrong}
            )
        return record


class RemapInputSerializer(serializers.Serializer[Any]):
    column_mapping = ColumnMappingField(
        help_text='{"phone": "Mobile No.", "first_name": "B"}: a header text or a column letter '
        "per field, null to leave a field out; fields not named keep their column."
    )


class LegacyCustomerListField(serializers.ListField):
    """The legacy body's customers: its length is checked before each customer is, so that a
    list of many small objects costs nothing more than its parse."""

    def to_internal_value(self, data: Any) -> list[Any]:
        if isinstance(data, list) and len(data) > LEGACY_BULK_CUSTOMERS:
            raise FileError(
                file_errors.TOO_MANY_ROWS,
                f"More than {LEGACY_BULK_CUSTOMERS:,} customers in one request: upload them as "
                "a file instead.",
            )
        return super().to_internal_value(data)


class BulkCreateInputSerializer(serializers.Serializer[Any]):
    """An upload_id, or the legacy list of customers."""

    upload_id = serializers.UUIDField(required=False)
    customers = LegacyCustomerListField(
        child=LegacyCustomerField(),
        required=False,
        min_length=1,
        help_text="Legacy: the customers themselves (validated again like an upload), at most "
        f"{LEGACY_BULK_CUSTOMERS:,}.",
    )
    notify = StrictBooleanField(default=False)

    one_of_required: dict[str, dict[str, object]] = {"upload_id": {}, "customers": {}}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "upload_id" not in attrs and "customers" not in attrs:
            raise serializers.ValidationError(
                {"upload_id": ["Give the upload_id of a preview."]}, code="required"
            )
        return attrs


class BulkCreateOutputSerializer(serializers.Serializer[Any]):
    success = serializers.BooleanField()
    message = serializers.CharField()
    task_id = serializers.UUIDField()
    status = serializers.CharField()
    total_customers = serializers.IntegerField()
    estimated_time_seconds = serializers.IntegerField()


class FailedRowSerializer(serializers.Serializer[Any]):
    row = serializers.IntegerField()
    reason = serializers.CharField(allow_blank=True)
    codes = serializers.ListField(child=serializers.CharField())
    data = serializers.DictField(child=serializers.JSONField(allow_null=True))  # type: ignore[assignment]


class UndoStatusSerializer(serializers.Serializer[Any]):
    task_id = serializers.UUIDField()
    status = serializers.CharField()
    message = serializers.CharField(allow_blank=True)
    requested_by = serializers.IntegerField(allow_null=True)
    to_delete = serializers.IntegerField()
    to_restore = serializers.IntegerField()
    deleted = serializers.IntegerField()
    restored = serializers.IntegerField()
    kept = serializers.IntegerField()
    kept_customers = serializers.ListField(child=serializers.DictField())
    is_finished = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class UndoAnswerSerializer(serializers.Serializer[Any]):
    """The undo endpoint's answer: the undo's progress under `undo`."""

    success = serializers.BooleanField()
    message = serializers.CharField()
    task_id = serializers.UUIDField()
    undo = UndoStatusSerializer()


class ImportStatusSerializer(serializers.Serializer[Any]):
    task_id = serializers.UUIDField()
    status = serializers.ChoiceField(
        choices=["PARSED", "QUEUED", "RUNNING", "COMPLETE", "FAILED", "CANCELLED"]
    )
    success = serializers.BooleanField()
    message = serializers.CharField()
    mode = serializers.CharField()
    match = serializers.CharField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    failed = serializers.IntegerField()
    skipped = serializers.IntegerField()
    total_customers = serializers.IntegerField()
    total_updates = serializers.IntegerField()
    total_rows = serializers.IntegerField()
    progress_percent = serializers.IntegerField(min_value=0, max_value=100)
    errors = serializers.ListField(child=serializers.CharField())  # type: ignore[assignment]
    errors_total = serializers.IntegerField()
    failed_rows = FailedRowSerializer(many=True)
    failed_rows_total = serializers.IntegerField()
    sms_sent = serializers.IntegerField()
    sms_failed = serializers.IntegerField()
    estimated_time_seconds = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()
    is_complete = serializers.BooleanField()
    is_failed = serializers.BooleanField()
    is_finished = serializers.BooleanField()
    rows_kept = serializers.BooleanField()
    undone_at = serializers.DateTimeField(allow_null=True)
    undone_by = serializers.IntegerField(allow_null=True)
    undo = UndoStatusSerializer(allow_null=True)


class RegionCountSerializer(serializers.Serializer[Any]):
    region = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    count = serializers.IntegerField()


class JobOwnerSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()


class UploadHistorySerializer(serializers.Serializer[Any]):
    task_id = serializers.UUIDField()
    file_name = serializers.CharField()
    owner = JobOwnerSerializer()
    status = serializers.CharField()
    total_rows = serializers.IntegerField()
    created = serializers.IntegerField()
    failed = serializers.IntegerField()
    skipped = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class StatsOutputSerializer(serializers.Serializer[Any]):
    total_customers = serializers.IntegerField()
    active_customers = serializers.IntegerField()
    verified_customers = serializers.IntegerField()
    recent_customers = serializers.IntegerField(
        help_text=f"Joined in the last {stats.RECENT_DAYS} days."
    )
    region_distribution = RegionCountSerializer(many=True)
    upload_history = UploadHistorySerializer(
        many=True, help_text=f"The latest {stats.HISTORY_LIMIT} imports the caller may see."
    )


__all__ = ["CustomerChangeSerializer"]
