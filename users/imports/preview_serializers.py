"""The shapes of a preview's answer (documenting the dicts users.imports.reports builds): the
upload's and the remap's answer, its lists' entries, and a page of one list."""

from typing import Any

from rest_framework import serializers

from users.imports.serializers import ColumnMappingField


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
    to_update = serializers.IntegerField(
        required=False,
        help_text="Rows to update: always in an update; in a create, possible duplicates "
        "chosen to update the customer they resemble (only when there are any).",
    )
    unchanged = serializers.IntegerField(
        required=False, help_text="Rows to update that change nothing (as to_update)."
    )
    ambiguous = serializers.IntegerField(
        required=False,
        help_text="Rows whose customer is one account and another value another's (as to_update).",
    )
    no_match = serializers.IntegerField(
        required=False, help_text="update_only: rows that match no customer."
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


def chooser_field() -> ChooserSerializer:
    return ChooserSerializer(
        allow_null=True,
        help_text="The admin whose choice it is (the owner of the import confirmed with it); "
        "null when the caller may not see them, or the account is gone.",
    )


def choices_field() -> ColumnMappingField:
    return ColumnMappingField(
        help_text="{field: header text, or null for a field left out}, as a column_mapping."
    )


class RecalledMappingSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(help_text="The remembered mapping (it may have been forgotten).")
    chosen_by = chooser_field()
    chosen_at = serializers.DateTimeField()
    choices = choices_field()


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


class PreviewPageSerializer(serializers.Serializer[Any]):
    upload_id = serializers.UUIDField()
    list = serializers.CharField()
    count = serializers.IntegerField()
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    pages = serializers.IntegerField()
    results = serializers.ListField(child=serializers.DictField())
