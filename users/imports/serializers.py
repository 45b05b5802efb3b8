"""Import input (types only) and the shapes of the import answers (documenting the dicts
users.imports.reports and users.imports.stats build)."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, ParseError

from primepre.body_limit import LEGACY_BULK_CUSTOMERS
from users import errors as file_errors
from users.customers.rules import CUSTOMER_FIELDS
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
# name is the field's; the stubs cannot tell, hence `type: ignore[assignment]` on those lines.


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


class CandidateSerializer(serializers.Serializer[Any]):
    source_row_number = serializers.IntegerField()
    shipping_mark = serializers.CharField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    email = serializers.CharField(allow_null=True)
    phone = serializers.CharField()
    region = serializers.CharField()
    company_name = serializers.CharField(allow_blank=True)
    nickname = serializers.CharField(allow_blank=True)
    user_type = serializers.CharField()
    shipping_mark_generated = serializers.BooleanField()


class RowErrorSerializer(serializers.Serializer[Any]):
    row = serializers.IntegerField()
    field = serializers.CharField(allow_blank=True)
    code = serializers.CharField()
    message = serializers.CharField()
    value = serializers.CharField(allow_blank=True)


class InvalidRowSerializer(serializers.Serializer[Any]):
    source_row_number = serializers.IntegerField()
    reason = serializers.CharField(allow_blank=True)
    raw_data = serializers.DictField(child=serializers.JSONField(allow_null=True))
    errors = RowErrorSerializer(many=True)  # type: ignore[assignment]


class ExistingCustomerSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    phone = serializers.CharField()
    email = serializers.CharField(allow_null=True)
    shipping_mark = serializers.CharField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()


class ExistingDuplicateSerializer(serializers.Serializer[Any]):
    candidate = CandidateSerializer()
    reason = serializers.CharField()
    existing_customers = ExistingCustomerSerializer(many=True)


class BatchDuplicateSerializer(serializers.Serializer[Any]):
    candidate = CandidateSerializer()
    reason = serializers.CharField()


class ResembledCustomerSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    phone = serializers.CharField()
    shipping_mark = serializers.CharField()


class ResemblesSerializer(serializers.Serializer[Any]):
    customer_id = serializers.IntegerField(
        allow_null=True, help_text="The customer the row resembles (null: an earlier row)."
    )
    customer = ResembledCustomerSerializer(
        allow_null=True, help_text="That customer, when the caller may see it."
    )
    row = serializers.IntegerField(
        allow_null=True, help_text="The number in the file of the earlier row it resembles."
    )


class PossibleDuplicateSerializer(serializers.Serializer[Any]):
    candidate = CandidateSerializer()
    reason_code = serializers.ChoiceField(
        choices=[
            "phone_one_digit_apart",
            "phone_digits_swapped",
            "names_swapped",
            "same_email_local_part",
            "same_company_phone_tail",
        ]
    )
    reason = serializers.CharField()
    resembles = ResemblesSerializer()


class PreviewSummarySerializer(serializers.Serializer[Any]):
    total_rows = serializers.IntegerField()
    invalid = serializers.IntegerField()
    existing_duplicates = serializers.IntegerField()
    batch_duplicates = serializers.IntegerField()
    to_create = serializers.IntegerField()
    possible_duplicates = serializers.IntegerField(
        help_text="Rows to create (counted in to_create, and created on confirm) that resemble "
        "a customer or an earlier row."
    )
    skipped = serializers.IntegerField(
        required=False, help_text="Rows skipped in the preview (only when there are any)."
    )


class ParsingResultsSerializer(serializers.Serializer[Any]):
    invalid_rows = InvalidRowSerializer(many=True)
    total_rows = serializers.IntegerField()
    valid_candidates = serializers.IntegerField(
        help_text="Valid rows: to create plus duplicates. Each is in one of the duplicate_results "
        "lists; all of them, in file order, are paged at rows/?list=candidates."
    )


class DuplicateResultsSerializer(serializers.Serializer[Any]):
    existing_duplicates = ExistingDuplicateSerializer(many=True)
    batch_duplicates = BatchDuplicateSerializer(many=True)
    unique_candidates = CandidateSerializer(many=True)
    possible_duplicates = PossibleDuplicateSerializer(many=True)


class ColumnSerializer(serializers.Serializer[Any]):
    column = serializers.CharField()
    header = serializers.CharField(allow_blank=True)
    field = serializers.CharField(allow_null=True)
    match = serializers.ChoiceField(
        choices=["header", "guess", "chosen", "remembered", "position"], allow_null=True
    )


class ChooserSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()


def _chooser_field() -> ChooserSerializer:
    return ChooserSerializer(
        allow_null=True,
        help_text="The admin whose choice it is (the owner of the import confirmed with it); "
        "null when the caller may not see them, or the account is gone.",
    )


def _choices_field() -> ColumnMappingField:
    return ColumnMappingField(
        help_text="{field: header text, or null for a field left out}, as a column_mapping."
    )


class RecalledMappingSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(help_text="The remembered mapping (it may have been forgotten).")
    chosen_by = _chooser_field()
    chosen_at = serializers.DateTimeField()
    choices = _choices_field()


class RememberedMappingSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    headers = serializers.ListField(
        child=serializers.CharField(allow_blank=True),
        help_text="The header row of the file the columns were chosen for.",
    )
    choices = _choices_field()
    chosen_by = _chooser_field()
    chosen_at = serializers.DateTimeField()
    times_used = serializers.IntegerField(
        help_text="Confirmed imports read with this choice since it was made."
    )
    last_used_at = serializers.DateTimeField(allow_null=True)


class ColumnGuessSerializer(serializers.Serializer[Any]):
    field = serializers.CharField()
    column = serializers.CharField()
    header = serializers.CharField()
    taken_for = serializers.CharField()


class FieldChoiceSerializer(serializers.Serializer[Any]):
    field = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    required = serializers.BooleanField()  # type: ignore[assignment]


class ChangeSerializer(serializers.Serializer[Any]):
    field = serializers.CharField()
    old = serializers.JSONField(allow_null=True)
    new = serializers.JSONField(allow_null=True)


class UpdateRowSerializer(serializers.Serializer[Any]):
    source_row_number = serializers.IntegerField()
    customer_id = serializers.IntegerField()
    changes = ChangeSerializer(many=True)


class UpdateResultsSerializer(serializers.Serializer[Any]):
    to_update = UpdateRowSerializer(many=True)
    ambiguous = BatchDuplicateSerializer(many=True)
    no_match = BatchDuplicateSerializer(many=True)


class PreviewSerializer(serializers.Serializer[Any]):
    success = serializers.BooleanField()
    message = serializers.CharField()
    upload_id = serializers.UUIDField()
    file_name = serializers.CharField(allow_blank=True)
    file_type = serializers.CharField()
    sheet = serializers.CharField(
        allow_null=True,
        help_text="The sheet read: a workbook's first visible sheet that holds data (null for "
        "CSV and for a list of customers).",
    )
    column_mapping = serializers.DictField(child=serializers.CharField())
    layout = serializers.ChoiceField(choices=["header", "legacy"])
    mode = serializers.CharField()
    match = serializers.CharField()
    blank_clears = serializers.BooleanField()
    unmapped_columns = serializers.ListField(child=serializers.CharField())
    columns = ColumnSerializer(many=True)
    column_guesses = ColumnGuessSerializer(many=True)
    remembered_mapping = RecalledMappingSerializer(
        allow_null=True,
        help_text="The columns were read as an admin chose them for a file with the same headers "
        '(columns[].match is then "remembered"); null when they were not.',
    )
    field_choices = FieldChoiceSerializer(many=True)
    summary = PreviewSummarySerializer()
    parsing_results = ParsingResultsSerializer()
    duplicate_results = DuplicateResultsSerializer()
    skipped_rows = InvalidRowSerializer(many=True)
    update_results = UpdateResultsSerializer()
    errors = RowErrorSerializer(many=True)  # type: ignore[assignment]
    errors_total = serializers.IntegerField()
    list_limit = serializers.IntegerField()
    lists_truncated = serializers.BooleanField()


# A fix of one row (users.imports.fixes): the fields to set, each a cell's value validated as
# a cell of the file (a field the upload has no column for cannot be fixed), or an action alone.
# A raw schema: a serializer cannot say "at least one field, and nothing else".
ROW_FIX_INPUT = {
    "oneOf": [
        {
            "type": "object",
            "properties": {
                name: {"type": "string", "nullable": True, "maxLength": 1000}
                for name in CUSTOMER_FIELDS
            },
            "additionalProperties": False,
            "minProperties": 1,
        },
        {
            "type": "object",
            "properties": {"action": {"type": "string", "enum": ["skip", "include"]}},
            "required": ["action"],
            "additionalProperties": False,
            "description": "skip leaves the row out of the import (not written, counted as "
            "skipped); include takes it back.",
        },
    ]
}


class RowFixSerializer(serializers.Serializer[Any]):
    action = serializers.ChoiceField(choices=["fix", "skip", "include"])
    field = serializers.CharField(allow_blank=True)
    old = serializers.JSONField(allow_null=True)
    new = serializers.JSONField(allow_null=True)
    changed_by = ChooserSerializer(allow_null=True)
    changed_at = serializers.DateTimeField()


class PreviewRowSerializer(serializers.Serializer[Any]):
    source_row_number = serializers.IntegerField()
    outcome = serializers.ChoiceField(
        choices=[
            "create",
            "invalid",
            "existing",
            "batch",
            "update",
            "unchanged",
            "ambiguous",
            "no_match",
            "skipped",
            "possible_duplicates",
        ]
    )
    fields = CandidateSerializer()  # type: ignore[assignment]  # an answer's field, not the stub's
    raw_data = serializers.DictField(child=serializers.JSONField(allow_null=True))
    reason = serializers.CharField(allow_blank=True)
    errors = RowErrorSerializer(many=True)  # type: ignore[assignment]
    customer_id = serializers.IntegerField(allow_null=True)
    changes = ChangeSerializer(many=True)
    history = RowFixSerializer(many=True)


class RowOutcomeSerializer(serializers.Serializer[Any]):
    source_row_number = serializers.IntegerField()
    outcome = serializers.CharField()


class RowFixAnswerSerializer(serializers.Serializer[Any]):
    success = serializers.BooleanField()
    message = serializers.CharField()
    upload_id = serializers.UUIDField()
    row = PreviewRowSerializer()
    rows_changed = RowOutcomeSerializer(
        many=True, help_text="Other rows whose verdict the fix changed (a duplicate freed or made)."
    )
    summary = PreviewSummarySerializer()


class PreviewPageSerializer(serializers.Serializer[Any]):
    upload_id = serializers.UUIDField()
    list = serializers.CharField()
    count = serializers.IntegerField()
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    pages = serializers.IntegerField()
    results = serializers.ListField(child=serializers.DictField())


class FailedRowSerializer(serializers.Serializer[Any]):
    row = serializers.IntegerField()
    reason = serializers.CharField(allow_blank=True)
    codes = serializers.ListField(child=serializers.CharField())
    data = serializers.DictField(child=serializers.JSONField(allow_null=True))  # type: ignore[assignment]


__all__ = ["CustomerChangeSerializer"]


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
