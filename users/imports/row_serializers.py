"""The shapes of one row of a preview and of a fix of it (users.imports.row_report builds
them, users.imports.fixes takes the fix), of a choice for every possible duplicate
(users.imports.choices), and of the remembered column mappings (users.imports.mappings)."""

from typing import Any

from rest_framework import serializers

from users.customers.rules import CUSTOMER_FIELDS
from users.imports.preview_serializers import (
    CandidateSerializer,
    ChangeSerializer,
    ChooserSerializer,
    PreviewSummarySerializer,
    ResemblesSerializer,
    RowErrorSerializer,
    choices_field,
    chooser_field,
)


class RememberedMappingSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    headers = serializers.ListField(
        child=serializers.CharField(allow_blank=True),
        help_text="The header row of the file the columns were chosen for.",
    )
    choices = choices_field()
    chosen_by = chooser_field()
    chosen_at = serializers.DateTimeField()
    times_used = serializers.IntegerField(
        help_text="Confirmed imports read with this choice since it was made."
    )
    last_used_at = serializers.DateTimeField(allow_null=True)


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
            "properties": {
                "action": {
                    "type": "string",
                    "enum": ["skip", "include", "create", "update"],
                }
            },
            "required": ["action"],
            "additionalProperties": False,
            "description": "skip leaves the row out of the import (not written, counted as "
            "skipped); include takes it back (a possible duplicate is compared again). For a "
            "possible duplicate (or a row a choice was made for): create creates it anyway (a "
            "plain row to create); update makes it an update of the customer it resembles, as "
            "an update-mode import would (409 no_customer_to_update when it resembles an "
            "earlier row, or a customer deleted or hidden from the caller). Either on another "
            "row: 409 not_a_possible_duplicate.",
        },
    ]
}


class RowFixSerializer(serializers.Serializer[Any]):
    action = serializers.ChoiceField(choices=["fix", "skip", "include", "create", "update"])
    field = serializers.CharField(allow_blank=True)
    old = serializers.JSONField(allow_null=True)
    new = serializers.JSONField(
        allow_null=True, help_text="The value sent; for update, the customer chosen (its id)."
    )
    changed_by = ChooserSerializer(allow_null=True)
    changed_at = serializers.DateTimeField()


class RowResemblanceSerializer(serializers.Serializer[Any]):
    reason_code = serializers.CharField()
    reason = serializers.CharField()
    resembles = ResemblesSerializer()


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
    choice = serializers.ChoiceField(
        choices=["create", "update", "skip"],
        allow_null=True,
        help_text="What was chosen for the row as a possible duplicate (null: nothing).",
    )
    possible_duplicate = RowResemblanceSerializer(
        allow_null=True,
        help_text="Whom the row resembles and why, while it is a possible duplicate or holds "
        "a choice.",
    )


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


class PossibleDuplicatesChoiceInputSerializer(serializers.Serializer[Any]):
    action = serializers.ChoiceField(
        choices=["create", "update", "skip"],
        help_text="create: every possible duplicate is created anyway; update: each one that "
        "resembles a customer the caller may see updates it (the others are left); skip: "
        "every one is left out of the import.",
    )


class LeftReasonSerializer(serializers.Serializer[Any]):
    code = serializers.ChoiceField(choices=["resembles_a_row", "customer_not_available"])
    count = serializers.IntegerField()
    message = serializers.CharField()


class PossibleDuplicatesChoiceAnswerSerializer(serializers.Serializer[Any]):
    success = serializers.BooleanField()
    message = serializers.CharField()
    upload_id = serializers.UUIDField()
    action = serializers.CharField()
    chosen = serializers.IntegerField(help_text="The possible duplicates the choice was made for.")
    outcomes = serializers.DictField(
        child=serializers.IntegerField(),
        help_text='What those rows are now, by outcome ({"update": 3, "unchanged": 1}).',
    )
    left = serializers.IntegerField(help_text="The possible duplicates left as they were.")
    left_reasons = LeftReasonSerializer(many=True)
    summary = PreviewSummarySerializer()
