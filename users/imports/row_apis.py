"""A preview's endpoints past its answer: a page of one of its lists, one row, read or fixed
where it stands (users.imports.fixes), and a choice for every possible duplicate
(users.imports.choices)."""

from uuid import UUID

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from primepre.body_limit import BodyLimit
from users.imports import (
    choices,
    fixes,
    preview_serializers,
    reports,
    row_report,
    row_serializers,
)
from users.imports.apis import StaffRequest, job_or_404
from users.web.compression import compressed
from users.web.errors import invalid_choice
from users.web.pagination import PAGE, positive_int_param
from users.web.parsers import JSONParser
from users.web.schema import error_responses

PREVIEW_PAGE_MAX = 1000


@compressed
class PreviewPageView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("list", str, enum=list(reports.LISTS), required=True),
            OpenApiParameter("page", PAGE),
            OpenApiParameter(
                "page_size",
                {"type": "integer", "minimum": 1, "default": 100},
                description=f"At most {PREVIEW_PAGE_MAX:,}: a larger size is read as "
                f"{PREVIEW_PAGE_MAX:,}.",
            ),
        ],
        responses={
            200: preview_serializers.PreviewPageSerializer,
            **error_responses(400, 401, 403, 404),
        },
        tags=["import"],
    )
    def get(self, request: StaffRequest, upload_id: UUID) -> Response:
        job = job_or_404(upload_id, request.user)
        name = request.query_params.get("list", "")
        if name not in reports.LISTS:
            raise invalid_choice("list", reports.LISTS, "Unknown list.")
        params = request.query_params
        page = positive_int_param(params.get("page"), name="page", default=1)
        page_size = positive_int_param(
            params.get("page_size"), name="page_size", default=100, most=PREVIEW_PAGE_MAX
        )
        return Response(
            reports.preview_page(
                job, viewer=request.user, name=name, page=page, page_size=page_size
            )
        )


class RowView(APIView):
    """One row of a preview: read it, or fix it where it stands (users.imports.fixes)."""

    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="import_row_retrieve",
        responses={200: row_serializers.PreviewRowSerializer, **error_responses(401, 403, 404)},
        tags=["import"],
    )
    def get(self, request: StaffRequest, upload_id: UUID, row: int) -> Response:
        job = job_or_404(upload_id, request.user)
        return Response(row_report.row_json(job, fixes.row_at(job, row), viewer=request.user))

    @extend_schema(
        operation_id="import_row_fix",
        request={"application/json": row_serializers.ROW_FIX_INPUT},
        responses={
            200: row_serializers.RowFixAnswerSerializer,
            **error_responses(400, 401, 403, 404, 409),
        },
        tags=["import"],
    )
    def patch(self, request: StaffRequest, upload_id: UUID, row: int) -> Response:
        job = job_or_404(upload_id, request.user)
        fixed = fixes.row_fix(job=job, row=row, body=request.data, user=request.user)
        return Response(row_report.fix_answer(job, fixed, viewer=request.user))


class PossibleDuplicatesView(APIView):
    """One choice for every possible duplicate of a preview (users.imports.choices)."""

    parser_classes = [JSONParser]
    body_limit = BodyLimit.SMALL

    @extend_schema(
        operation_id="import_possible_duplicates_choose",
        request=row_serializers.PossibleDuplicatesChoiceInputSerializer,
        responses={
            200: row_serializers.PossibleDuplicatesChoiceAnswerSerializer,
            **error_responses(400, 401, 403, 404, 409),
        },
        tags=["import"],
    )
    def post(self, request: StaffRequest, upload_id: UUID) -> Response:
        job = job_or_404(upload_id, request.user)
        data = row_serializers.PossibleDuplicatesChoiceInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        done = choices.possible_duplicates_choose(
            job=job, action=data.validated_data["action"], user=request.user
        )
        return Response(row_report.choice_answer(job, done, viewer=request.user))
