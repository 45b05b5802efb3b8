"""Customer endpoints: the list, one customer, and the export. Each parses, calls one service or
selector, and shapes the answer."""

from django.http import Http404, StreamingHttpResponse
from django.utils.http import content_disposition_header
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from users.api.compression import compressed
from users.api.errors import invalid_choice
from users.api.pagination import PageNumberPagination
from users.api.schema import error_responses
from users.customers import export, selectors, serializers, services
from users.customers.selectors import CustomerFilter
from users.excel.writing import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE


@compressed
class CustomerListCreateView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
            OpenApiParameter(
                "search", str, description="Name, phone (any format), email or shipping mark."
            ),
        ],
        filters=True,
        responses={
            200: serializers.CustomerOutputSerializer(many=True),
            **error_responses(400, 401, 403, 404),
        },
        tags=["customers"],
    )
    def get(self, request):
        customers = selectors.customer_list(filters=request.query_params)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(customers, request, view=self)
        data = serializers.CustomerOutputSerializer(page, many=True).data
        return paginator.get_paginated_response(data)

    @extend_schema(
        request=serializers.CustomerInputSerializer,
        responses={201: serializers.CustomerOutputSerializer, **error_responses(400, 401, 403)},
        tags=["customers"],
    )
    def post(self, request):
        data = serializers.CustomerInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        customer = services.customer_create(created_by=request.user, data=data.validated_data)
        return Response(
            serializers.CustomerOutputSerializer(customer).data, status=status.HTTP_201_CREATED
        )

    # Read by drf-spectacular to document the filters and the paginated answer; the selector
    # and get() apply them.
    filter_backends = [DjangoFilterBackend]
    filterset_class = CustomerFilter
    pagination_class = PageNumberPagination

    def get_queryset(self):
        return selectors.customers()


class CustomerDetailView(APIView):
    def _customer(self, customer_id: int):
        customer = selectors.customer_get(customer_id=customer_id)
        if customer is None:
            raise Http404
        return customer

    @extend_schema(
        responses={200: serializers.CustomerOutputSerializer, **error_responses(401, 403, 404)},
        tags=["customers"],
    )
    def get(self, request, customer_id: int):
        return Response(serializers.CustomerOutputSerializer(self._customer(customer_id)).data)

    @extend_schema(
        request=serializers.CustomerInputSerializer,
        responses={
            200: serializers.CustomerOutputSerializer,
            **error_responses(400, 401, 403, 404),
        },
        tags=["customers"],
    )
    def patch(self, request, customer_id: int):
        customer = self._customer(customer_id)
        data = serializers.CustomerInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        customer = services.customer_update(customer=customer, data=data.validated_data)
        return Response(serializers.CustomerOutputSerializer(customer).data)

    @extend_schema(responses={204: None, **error_responses(401, 403, 404)}, tags=["customers"])
    def delete(self, request, customer_id: int):
        services.customer_delete(customer=self._customer(customer_id), deleted_by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


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
            OpenApiParameter("format", str, enum=list(export.FORMATS), default=export.XLSX),
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
        file_format = request.query_params.get("format") or export.XLSX
        if file_format not in export.FORMATS:
            raise invalid_choice("format", export.FORMATS, UNKNOWN_FORMAT)
        filename = export.export_filename(file_format)
        if file_format == export.XLSX:
            pieces = export.customers_export_xlsx_stream(filters=request.query_params)
            response = StreamingHttpResponse(pieces, content_type=XLSX_CONTENT_TYPE)
        else:
            lines = export.customers_export_csv(filters=request.query_params)
            response = StreamingHttpResponse(lines, content_type=CSV_CONTENT_TYPE)
        response["Content-Disposition"] = content_disposition_header(True, filename)
        return response

    # Read by drf-spectacular to document the filters; the selector applies them.
    filter_backends = [DjangoFilterBackend]
    filterset_class = CustomerFilter

    def get_queryset(self):
        return selectors.customers()
