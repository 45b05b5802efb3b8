"""Import jobs, read only, each linked to its page (users.admin.import_pages). A job is visible
to its owner and to super admins, as in the API."""

from datetime import timedelta

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from users.admin.changes import changes_table
from users.admin.site import ForStaff
from users.customers import selectors as customer_selectors
from users.imports import selectors
from users.models import CustomerChange, ImportJob


def _duration_text(elapsed: timedelta) -> str:
    seconds = elapsed.total_seconds()
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes} min {seconds} s"


@admin.register(ImportJob)
class ImportJobAdmin(ForStaff, admin.ModelAdmin):
    """Every import, read only. A job is visible to its owner and to super admins, as in the
    API."""

    list_display = [
        "file_name",
        "owner_name",
        "status",
        "rows",
        "to_create",
        "created",
        "failed",
        "skipped",
        "created_at",
        "duration",
        "page",
    ]
    list_filter = ["status"]
    search_fields = ["file_name"]
    list_select_related = ["owner"]
    date_hierarchy = "created_at"
    fields = [
        "id",
        "owner",
        "status",
        "message",
        "file_name",
        "file_type",
        "file_size",
        "file_sha256",
        "column_mapping",
        "total_rows",
        "invalid_count",
        "existing_duplicate_count",
        "batch_duplicate_count",
        "to_create_count",
        "mode",
        "match",
        "blank_clears",
        "to_update_count",
        "unchanged_count",
        "ambiguous_count",
        "no_match_count",
        "created_count",
        "updated_count",
        "failed_count",
        "notify",
        "sms_sent_count",
        "sms_failed_count",
        "attempts",
        "created_at",
        "confirmed_at",
        "started_at",
        "finished_at",
        "heartbeat_at",
        "undone_at",
        "undone_by_name",
        "changes",
    ]
    readonly_fields = ["changes", "undone_by_name"]

    @admin.display(description="undone by")
    def undone_by_name(self, job: ImportJob) -> str:
        """Who undid it, when the caller may see them (a super admin may undo anyone's)."""
        user = job.undone_by
        if user is None or not customer_selectors.visible_ids(actor=job.viewer, ids=[user.pk]):
            return "-"
        return user.get_full_name() or user.phone

    @admin.display(description="changes to customers")
    def changes(self, job: ImportJob) -> str:
        return changes_table(
            CustomerChange.objects.filter(import_job=job), viewer=job.viewer, by_customer=False
        )

    def get_object(self, request, object_id, from_field=None):
        # The job's page names the authors of its changes as the caller may see them.
        job = super().get_object(request, object_id, from_field)
        if job is not None:
            job.viewer = request.user
        return job

    def get_queryset(self, request):
        return selectors.import_jobs_visible(
            user=request.user, queryset=super().get_queryset(request)
        )

    @admin.display(description="owner", ordering="owner__last_name")
    def owner_name(self, job: ImportJob) -> str:
        return job.owner.get_full_name() or job.owner.phone

    @admin.display(description="rows", ordering="total_rows")
    def rows(self, job: ImportJob) -> int:
        return job.total_rows

    @admin.display(description="to create", ordering="to_create_count")
    def to_create(self, job: ImportJob) -> int:
        return job.to_create_count

    @admin.display(description="created", ordering="created_count")
    def created(self, job: ImportJob) -> int:
        return job.created_count

    @admin.display(description="failed", ordering="failed_count")
    def failed(self, job: ImportJob) -> int:
        return job.failed_count

    @admin.display(description="skipped")
    def skipped(self, job: ImportJob) -> int:
        return job.skipped_count

    @admin.display(description="duration")
    def duration(self, job: ImportJob) -> str:
        if job.started_at is None or job.finished_at is None:
            return "-"
        return _duration_text(job.finished_at - job.started_at)

    @admin.display(description="import page")
    def page(self, job: ImportJob) -> str:
        url = reverse("admin:users_customer_import_job", args=[job.pk])
        label = "Preview" if job.status == ImportJob.Status.PARSED else "Progress"
        return format_html('<a href="{}">{}</a>', url, label)
