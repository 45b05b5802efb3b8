"""Export, template and stats endpoints: parse, call one service or selector, shape the answer."""

import io

from django.http import FileResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers as drf_serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from users import exports, selectors, stats
from users.excel import template
from users.excel.writing import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE
from users.exceptions import invalid_choice
from users.selectors import CustomerFilter
from users.views import error_responses

UNKNOWN_FORMAT = "Unknown export format."


class FileFormatNegotiation(DefaultContentNegotiation):
    """Here `?format=` names the file to download, not one of DRF's renderers (its
    URL_FORMAT_OVERRIDE), and answers that are not the file are always JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ExportView(APIView):
    renderer_classes = [JSONRenderer]
    content_negotiation_class = FileFormatNegotiation

    @extend_schema(
        parameters=[
            OpenApiParameter("format", str, enum=list(exports.FORMATS), default=exports.XLSX),
            OpenApiParameter(
                "search", str, description="Name, phone (any format), email or shipping mark."
            ),
        ],
        filters=True,
        responses={
            (200, XLSX_CONTENT_TYPE): OpenApiResponse(
                OpenApiTypes.BINARY, description="Every customer matching the filters"
            ),
            (200, CSV_CONTENT_TYPE): OpenApiResponse(
                OpenApiTypes.BINARY, description="The same as CSV (UTF-8 with a BOM)"
            ),
            **error_responses(400, 401, 403),
        },
        tags=["customers"],
    )
    def get(self, request):
        file_format = request.query_params.get("format") or exports.XLSX
        if file_format not in exports.FORMATS:
            raise invalid_choice("format", exports.FORMATS, UNKNOWN_FORMAT)
        filename = exports.export_filename(file_format)
        if file_format == exports.XLSX:
            spool = exports.customers_export_xlsx_file(filters=request.query_params)
            return FileResponse(
                spool, as_attachment=True, filename=filename, content_type=XLSX_CONTENT_TYPE
            )
        lines = exports.customers_export_csv(filters=request.query_params)
        response = StreamingHttpResponse(lines, content_type=CSV_CONTENT_TYPE)
        response["Content-Disposition"] = content_disposition_header(True, filename)
        return response

    # Read by drf-spectacular to document the filters; the selector applies them.
    filter_backends = [DjangoFilterBackend]
    filterset_class = CustomerFilter

    def get_queryset(self):
        return selectors.customers()


class TemplateView(APIView):
    @extend_schema(
        responses={
            (200, XLSX_CONTENT_TYPE): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="Headers, three sample rows, a region dropdown and instructions",
            ),
            **error_responses(401, 403),
        },
        tags=["import"],
    )
    def get(self, request):
        buffer = io.BytesIO()
        template.write_template(buffer)
        buffer.seek(0)
        return FileResponse(
            buffer, as_attachment=True, filename=template.FILENAME, content_type=XLSX_CONTENT_TYPE
        )


class RegionCountSerializer(drf_serializers.Serializer):
    region = drf_serializers.CharField()
    label = drf_serializers.CharField()
    count = drf_serializers.IntegerField()


class JobOwnerSerializer(drf_serializers.Serializer):
    id = drf_serializers.IntegerField()
    name = drf_serializers.CharField()


class UploadHistorySerializer(drf_serializers.Serializer):
    task_id = drf_serializers.UUIDField()
    file_name = drf_serializers.CharField()
    owner = JobOwnerSerializer()
    status = drf_serializers.CharField()
    total_rows = drf_serializers.IntegerField()
    created = drf_serializers.IntegerField()
    failed = drf_serializers.IntegerField()
    skipped = drf_serializers.IntegerField()
    created_at = drf_serializers.DateTimeField()
    finished_at = drf_serializers.DateTimeField(allow_null=True)


class StatsOutputSerializer(drf_serializers.Serializer):
    total_customers = drf_serializers.IntegerField()
    active_customers = drf_serializers.IntegerField()
    verified_customers = drf_serializers.IntegerField()
    recent_customers = drf_serializers.IntegerField(
        help_text=f"Joined in the last {stats.RECENT_DAYS} days."
    )
    region_distribution = RegionCountSerializer(many=True)
    upload_history = UploadHistorySerializer(
        many=True, help_text=f"The latest {stats.HISTORY_LIMIT} imports the caller may see."
    )


class StatsView(APIView):
    @extend_schema(
        responses={200: StatsOutputSerializer, **error_responses(401, 403)}, tags=["import"]
    )
    def get(self, request):
        return Response(StatsOutputSerializer(stats.customer_stats(user=request.user)).data)
