"""Import endpoints: template, upload (preview), remap, confirm, cancel, status, failed rows,
undo, the column mappings remembered, and the upload dashboard's stats (a preview's pages and
rows: users.imports.row_apis)."""

import io
import tempfile
from uuid import UUID

from django.db.models import QuerySet
from django.http import FileResponse, Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from primepre.body_limit import BodyLimit
from users import errors as file_errors
from users.customers import selectors as customer_selectors
from users.errors import ApplicationError
from users.excel import template
from users.excel.writing import XLSX_CONTENT_TYPE, write_xlsx
from users.imports import (
    jobs,
    mappings,
    parse,
    preview_serializers,
    progress,
    read,
    remap,
    reports,
    row_serializers,
    selectors,
    serializers,
    stats,
)
from users.models import CustomerChange, ImportJob, RememberedMapping, User
from users.web.compression import compressed
from users.web.pagination import PageNumberPagination
from users.web.parsers import JSONParser
from users.web.schema import error_responses


class StaffRequest(Request):
    """The request of a view here: IsStaff (the default permission) let it through, so its
    user is signed in. Names the type only; DRF makes the requests."""

    user: User


ROWS_DELETED = "rows_deleted"


def job_or_404(job_id: UUID | str, user: User) -> ImportJob:
    """The job `user` may see (its owner, or a super admin), else 404."""
    job = selectors.import_job_get(job_id=job_id, user=user)
    if job is None:
        raise Http404
    return job


@compressed
class UploadView(APIView):
    parser_classes = [MultiPartParser, FormParser]
    body_limit = BodyLimit.UPLOAD

    @extend_schema(
        request={"multipart/form-data": serializers.UploadInputSerializer},
        responses={
            200: preview_serializers.PreviewSerializer,
            **error_responses(400, 401, 403, 413, 415),
        },
        tags=["import"],
    )
    def post(self, request: StaffRequest) -> Response:
        upload = request.FILES.get("file")
        if upload is None:
            raise ApplicationError(
                file_errors.NO_FILE, "Attach the spreadsheet as the multipart field 'file'."
            )
        data = serializers.UploadOptionsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        options = parse.ImportOptions(
            mode=data.validated_data["mode"],
            match=data.validated_data["match"],
            blank_clears=data.validated_data["blank_clears"],
        )
        job = read.preview_from_upload(
            owner=request.user,
            upload=upload,
            options=options,
            chosen=data.validated_data.get("column_mapping"),
        )
        return Response(reports.preview_response(job, viewer=request.user))


@compressed
class RemapView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        request=serializers.RemapInputSerializer,
        responses={
            200: preview_serializers.PreviewSerializer,
            **error_responses(400, 401, 403, 404, 409),
        },
        tags=["import"],
    )
    def post(self, request: StaffRequest, upload_id: UUID) -> Response:
        job = job_or_404(upload_id, request.user)
        data = serializers.RemapInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = remap.preview_remap(job=job, chosen=data.validated_data["column_mapping"])
        return Response(reports.preview_response(job, viewer=request.user))


class CancelView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        request=None,
        responses={200: serializers.ImportStatusSerializer, **error_responses(401, 403, 404, 409)},
        tags=["import"],
    )
    def post(self, request: StaffRequest, task_id: UUID) -> Response:
        job = jobs.import_job_cancel(job=job_or_404(task_id, request.user), user=request.user)
        return Response(progress.job_status(job, viewer=request.user))


class BulkCreateView(APIView):
    parser_classes = [JSONParser]
    body_limit = BodyLimit.BULK

    @extend_schema(
        request=serializers.BulkCreateInputSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description="Retrying with the same key returns the same job.",
            )
        ],
        responses={
            202: serializers.BulkCreateOutputSerializer,
            **error_responses(400, 401, 403, 404, 409, 413),
        },
        tags=["import"],
    )
    def post(self, request: StaffRequest) -> Response:
        data = serializers.BulkCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key = (request.headers.get("Idempotency-Key") or "").strip()[:255] or None
        notify = data.validated_data["notify"]
        if "upload_id" in data.validated_data:
            job = jobs.import_job_confirm(
                job_id=data.validated_data["upload_id"],
                user=request.user,
                notify=notify,
                idempotency_key=key,
            )
        else:
            job = jobs.import_records_confirm(
                user=request.user,
                records=data.validated_data["customers"],
                notify=notify,
                idempotency_key=key,
            )
        what = f"Import of {job.to_create_count:,} customers"
        if job.mode != job.Mode.CREATE or job.to_update_count:
            what = (
                f"Import of {job.to_create_count:,} new and {job.to_update_count:,} updated "
                "customers"
            )
        body = {
            "success": True,
            "message": what
            + (" queued." if job.status == job.Status.QUEUED else f" is {job.status.lower()}."),
            "task_id": str(job.pk),
            "status": job.status,
            "total_customers": job.to_create_count,
            "total_updates": job.to_update_count,
            "estimated_time_seconds": jobs.estimated_seconds(job),
        }
        return Response(body, status=status.HTTP_202_ACCEPTED)


@compressed
class StatusView(APIView):
    @extend_schema(
        responses={200: serializers.ImportStatusSerializer, **error_responses(401, 403, 404)},
        tags=["import"],
    )
    def get(self, request: StaffRequest, task_id: UUID) -> Response:
        job = jobs.import_job_watched(job=job_or_404(task_id, request.user))
        return Response(progress.job_status(job, viewer=request.user))


class FailedRowsView(APIView):
    @extend_schema(
        responses={
            (200, XLSX_CONTENT_TYPE): OpenApiResponse(description="The rows not created"),
            **error_responses(401, 403, 404, 410),
        },
        tags=["import"],
    )
    def get(self, request: StaffRequest, task_id: UUID) -> FileResponse:
        job = job_or_404(task_id, request.user)
        if job.rows_pruned_at is not None:
            raise ApplicationError(
                ROWS_DELETED,
                "The rows of this import are no longer kept; its counts remain in its status.",
                status_code=status.HTTP_410_GONE,
            )
        headers, rows = progress.failed_rows_table(job)
        # FileResponse closes the file once it has been sent.
        spool = tempfile.TemporaryFile(prefix="primepre-errors-")  # noqa: SIM115
        write_xlsx(spool, title="Failed rows", headers=headers, rows=rows)
        spool.seek(0)
        return FileResponse(
            spool,
            as_attachment=True,
            filename=f"import-{job.pk}-failed-rows.xlsx",
            content_type=XLSX_CONTENT_TYPE,
        )


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
    def get(self, request: StaffRequest) -> FileResponse:
        buffer = io.BytesIO()
        template.write_template(buffer)
        buffer.seek(0)
        return FileResponse(
            buffer, as_attachment=True, filename=template.FILENAME, content_type=XLSX_CONTENT_TYPE
        )


@compressed
class StatsView(APIView):
    @extend_schema(
        responses={200: serializers.StatsOutputSerializer, **error_responses(401, 403)},
        tags=["import"],
    )
    def get(self, request: StaffRequest) -> Response:
        return Response(
            serializers.StatsOutputSerializer(stats.customer_stats(user=request.user)).data
        )


def _undo_body(job: ImportJob, viewer: User) -> dict[str, object]:
    job.refresh_from_db()
    return {
        "success": True,
        "message": job.undo.message or _undo_message(job),
        **{"task_id": str(job.pk), "undo": progress.undo_status(job, viewer=viewer)},
    }


def _undo_message(job: ImportJob) -> str:
    if job.undo.status == job.Status.QUEUED:
        return "Undo queued."
    return (
        f"Undoing: {job.undo.deleted_count:,} of {job.undo.to_delete_count:,} deleted, "
        f"{job.undo.restored_count:,} of {job.undo.to_restore_count:,} restored so far."
    )


@compressed
class UndoView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        request=None,
        responses={
            202: serializers.UndoAnswerSerializer,
            **error_responses(401, 403, 404, 409),
        },
        tags=["import"],
    )
    def post(self, request: StaffRequest, task_id: UUID) -> Response:
        undo_job, _asked_now = jobs.import_undo_request(job_id=task_id, user=request.user)
        return Response(_undo_body(undo_job.job, request.user), status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        responses={200: serializers.UndoAnswerSerializer, **error_responses(401, 403, 404)},
        tags=["import"],
    )
    def get(self, request: StaffRequest, task_id: UUID) -> Response:
        job = job_or_404(task_id, request.user)
        if not hasattr(job, "undo"):
            raise Http404
        jobs.import_undos_recover_stale(undo_ids=[job.undo.pk])
        return Response(_undo_body(job, request.user))


class ImportChangesView(ListAPIView[CustomerChange]):
    """The changes an import made (and its undo restored), newest first, paged."""

    serializer_class = serializers.CustomerChangeSerializer
    pagination_class = PageNumberPagination
    request: StaffRequest

    @extend_schema(
        tags=["import"], responses={200: serializers.CustomerChangeSerializer(many=True)}
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[CustomerChange]:
        job = job_or_404(self.kwargs["task_id"], self.request.user)
        return (
            CustomerChange.objects.filter(import_job=job)
            .annotate(
                shown_changed_by=customer_selectors.shown_user(
                    actor=self.request.user, column="changed_by_id"
                )
            )
            .order_by("-changed_at", "-id")
        )


class ColumnMappingListView(ListAPIView[RememberedMapping]):
    """The column mappings remembered when imports whose columns were chosen by hand were
    confirmed, newest choice first, paged."""

    serializer_class = row_serializers.RememberedMappingSerializer
    pagination_class = PageNumberPagination
    request: StaffRequest

    @extend_schema(
        tags=["import"], responses={200: row_serializers.RememberedMappingSerializer(many=True)}
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[RememberedMapping]:
        return mappings.remembered_mapping_list(viewer=self.request.user)

    def list(self, request: Request, *args: object, **kwargs: object) -> Response:
        page = self.paginate_queryset(self.get_queryset()) or []
        return self.get_paginated_response([mappings.remembered_mapping_json(m) for m in page])


class ColumnMappingView(APIView):
    @extend_schema(
        request=None,
        responses={204: None, **error_responses(401, 403, 404)},
        tags=["import"],
    )
    def delete(self, request: StaffRequest, mapping_id: int) -> Response:
        """Forgets a remembered mapping: the next upload with its headers is read by the header
        matching alone."""
        mappings.remembered_mapping_forget(mapping_id=mapping_id, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
