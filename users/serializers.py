"""Input serializers parse types only (the rules are in users.normalize and the services);
output serializers shape answers."""

from django.core.validators import ProhibitNullCharactersValidator
from rest_framework import serializers

from users.models import User


class _Text(serializers.CharField):
    """Text as sent: no trimming here, no length check here (the service reports those with the
    same codes as an import)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("trim_whitespace", False)
        kwargs.setdefault("max_length", 10_000)
        super().__init__(**kwargs)
        # A NUL is reported by the service as invalid_characters, like any control character.
        self.validators = [
            v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)
        ]


def _identifier(help_text: str) -> serializers.CharField:
    return serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=254, help_text=help_text
    )


class LoginInputSerializer(serializers.Serializer):
    phone = _identifier("Phone number in any usual format, or use `email`.")
    email = _identifier("Email address, instead of `phone`.")
    identifier = _identifier("Phone number or email, instead of either.")
    password = serializers.CharField(max_length=256, trim_whitespace=False)

    def validate(self, attrs):
        identifier = attrs.get("phone") or attrs.get("email") or attrs.get("identifier")
        if not identifier:
            raise serializers.ValidationError(
                {"phone": ["Give a phone number or an email address."]}, code="required"
            )
        attrs["identifier"] = identifier
        return attrs


class RefreshInputSerializer(serializers.Serializer):
    refresh = serializers.CharField(max_length=2000)


class CustomerInputSerializer(serializers.Serializer):
    phone = _Text()
    first_name = _Text()
    last_name = _Text()
    email = _Text()
    shipping_mark = _Text()
    region = _Text(help_text="A region code (NORTH_EAST) or name (North East); blank: default.")
    company_name = _Text()
    nickname = _Text()
    is_active = serializers.BooleanField(required=False)
    is_verified = serializers.BooleanField(required=False)


_PROFILE_FIELDS = [
    "id",
    "phone",
    "email",
    "first_name",
    "last_name",
    "full_name",
    "nickname",
    "company_name",
    "shipping_mark",
    "region",
    "region_display",
    "user_role",
]


class _ProfileSerializer(serializers.ModelSerializer):
    full_name = serializers.CharField(source="get_full_name")
    region_display = serializers.CharField(source="get_region_display")


class UserOutputSerializer(_ProfileSerializer):
    is_staff = serializers.BooleanField(source="is_staff_member")

    class Meta:
        model = User
        fields = [
            *_PROFILE_FIELDS,
            "is_staff",
            "is_verified",
            "is_active",
            "date_joined",
            "last_login",
        ]
        read_only_fields = fields


class CustomerOutputSerializer(_ProfileSerializer):
    created_by = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    import_job = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = User
        fields = [
            *_PROFILE_FIELDS,
            "is_verified",
            "is_active",
            "date_joined",
            "created_by",
            "import_job",
            "source_row",
        ]
        read_only_fields = fields


class LoginOutputSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField()
    user = UserOutputSerializer()
    tokens = serializers.DictField(child=serializers.CharField())


class MessageSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    """The envelope every error answers with."""

    success = serializers.BooleanField(default=False)
    code = serializers.CharField()
    message = serializers.CharField()
    errors = serializers.DictField(required=False)


class PasswordResetRequestSerializer(serializers.Serializer):
    phone = serializers.CharField(max_length=64)


class PasswordResetConfirmSerializer(serializers.Serializer):
    phone = serializers.CharField(max_length=64)
    pin = serializers.CharField(max_length=12)
    new_password = serializers.CharField(max_length=256, trim_whitespace=False)


# --- import answers (documenting the dicts users.import_reports builds) ----------------------


class CandidateSerializer(serializers.Serializer):
    source_row_number = serializers.IntegerField()
    shipping_mark = serializers.CharField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    email = serializers.CharField(allow_null=True)
    phone = serializers.CharField()
    region = serializers.CharField()
    company_name = serializers.CharField(allow_blank=True)
    nickname = serializers.CharField(allow_blank=True)
    shipping_mark_generated = serializers.BooleanField()


class RowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    field = serializers.CharField(allow_blank=True)
    code = serializers.CharField()
    message = serializers.CharField()
    value = serializers.CharField(allow_blank=True)


class InvalidRowSerializer(serializers.Serializer):
    source_row_number = serializers.IntegerField()
    reason = serializers.CharField(allow_blank=True)
    raw_data = serializers.DictField(child=serializers.JSONField(allow_null=True))
    errors = RowErrorSerializer(many=True)


class ExistingCustomerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    phone = serializers.CharField()
    email = serializers.CharField(allow_null=True)
    shipping_mark = serializers.CharField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()


class ExistingDuplicateSerializer(serializers.Serializer):
    candidate = CandidateSerializer()
    reason = serializers.CharField()
    existing_customers = ExistingCustomerSerializer(many=True)


class BatchDuplicateSerializer(serializers.Serializer):
    candidate = CandidateSerializer()
    reason = serializers.CharField()


class PreviewSummarySerializer(serializers.Serializer):
    total_rows = serializers.IntegerField()
    invalid = serializers.IntegerField()
    existing_duplicates = serializers.IntegerField()
    batch_duplicates = serializers.IntegerField()
    to_create = serializers.IntegerField()


class ParsingResultsSerializer(serializers.Serializer):
    candidates = CandidateSerializer(many=True)
    invalid_rows = InvalidRowSerializer(many=True)
    total_rows = serializers.IntegerField()
    valid_candidates = serializers.IntegerField()


class DuplicateResultsSerializer(serializers.Serializer):
    existing_duplicates = ExistingDuplicateSerializer(many=True)
    batch_duplicates = BatchDuplicateSerializer(many=True)
    unique_candidates = CandidateSerializer(many=True)


class PreviewSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField()
    upload_id = serializers.UUIDField()
    file_name = serializers.CharField(allow_blank=True)
    file_type = serializers.CharField()
    column_mapping = serializers.DictField(child=serializers.CharField())
    layout = serializers.ChoiceField(choices=["header", "legacy"])
    unmapped_columns = serializers.ListField(child=serializers.CharField())
    summary = PreviewSummarySerializer()
    parsing_results = ParsingResultsSerializer()
    duplicate_results = DuplicateResultsSerializer()
    errors = RowErrorSerializer(many=True)
    errors_total = serializers.IntegerField()
    list_limit = serializers.IntegerField()
    lists_truncated = serializers.BooleanField()


class PreviewPageSerializer(serializers.Serializer):
    upload_id = serializers.UUIDField()
    list = serializers.CharField()
    count = serializers.IntegerField()
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    pages = serializers.IntegerField()
    results = serializers.ListField(child=serializers.DictField())


class FailedRowSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    reason = serializers.CharField(allow_blank=True)
    codes = serializers.ListField(child=serializers.CharField())
    data = serializers.DictField(child=serializers.JSONField(allow_null=True))


class ImportStatusSerializer(serializers.Serializer):
    task_id = serializers.UUIDField()
    status = serializers.ChoiceField(
        choices=["PARSED", "QUEUED", "RUNNING", "COMPLETE", "FAILED", "CANCELLED"]
    )
    success = serializers.BooleanField()
    message = serializers.CharField()
    created = serializers.IntegerField()
    failed = serializers.IntegerField()
    skipped = serializers.IntegerField()
    total_customers = serializers.IntegerField()
    total_rows = serializers.IntegerField()
    progress_percent = serializers.IntegerField(min_value=0, max_value=100)
    errors = serializers.ListField(child=serializers.CharField())
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
