"""The Django admin: staff accounts, customers (list, search, filters, import, export) and import
jobs, for staff who do not use the SPA.

Who may enter is the API's rule (User.is_staff_member: an ADMIN, MANAGER or SUPER_ADMIN role, or
Django's is_staff flag), not Django's is_staff alone, and access to each model follows roles, not
Django's per-model permissions: customers and import jobs are open to every staff member (read
only: customers change through the API, which applies every rule), accounts to super admins.
"""

from datetime import timedelta
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.views.main import ORDER_VAR
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from users import admin_views, selectors
from users.admin_forms import (
    StaffAuthenticationForm,
    StaffChangeForm,
    StaffCreationForm,
    staff_may_use_admin,
)
from users.models import Customer, ImportJob, User

# The default site keeps every other app's registrations; only who may enter and how changes.
admin.site.has_permission = staff_may_use_admin
admin.site.login_form = StaffAuthenticationForm
admin.site.site_header = "primepre administration"
admin.site.site_title = "primepre admin"
admin.site.index_title = "Customers and imports"
admin.site.site_url = None  # the API serves nothing at "/" to link to


class _ForStaff:
    """Read-only model admins open to every staff member."""

    def has_module_permission(self, request) -> bool:
        return staff_may_use_admin(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return staff_may_use_admin(request)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# --- staff accounts ---------------------------------------------------------------------------


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """Every account; super admins only, since it can grant roles."""

    form = StaffChangeForm
    add_form = StaffCreationForm
    ordering = ["-date_joined"]
    list_display = ["phone", "first_name", "last_name", "user_role", "is_staff", "is_active"]
    list_filter = ["user_role", "is_staff", "is_active", "is_verified"]
    search_fields = ["phone", "email", "first_name", "last_name", "shipping_mark"]
    fieldsets = [
        (None, {"fields": ["phone", "password"]}),
        (
            "Profile",
            {
                "fields": [
                    "first_name",
                    "last_name",
                    "nickname",
                    "email",
                    "company_name",
                    "shipping_mark",
                    "region",
                ]
            },
        ),
        (
            "Access",
            {
                "fields": [
                    "user_role",
                    "is_active",
                    "is_verified",
                    "is_staff",
                    "is_superuser",
                    "groups",
                    "user_permissions",
                ]
            },
        ),
        ("History", {"fields": ["date_joined", "last_login", "created_by", "import_job"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "fields": [
                    "phone",
                    "first_name",
                    "last_name",
                    "email",
                    "user_role",
                    "is_verified",
                    "password1",
                    "password2",
                ]
            },
        ),
    ]
    readonly_fields = ["date_joined", "last_login", "created_by", "import_job"]

    def _super_admin(self, request) -> bool:
        return staff_may_use_admin(request) and request.user.is_super_admin

    def has_module_permission(self, request) -> bool:
        return self._super_admin(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return self._super_admin(request)

    def has_add_permission(self, request) -> bool:
        return self._super_admin(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._super_admin(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._super_admin(request)

    def save_form(self, request, form, change):
        if change:
            return super().save_form(request, form, change)
        return form.save(created_by=request.user)

    def save_model(self, request, obj, form, change):
        # A new user is already stored by StaffCreationForm.save.
        if change:
            super().save_model(request, obj, form, change)


# --- customers --------------------------------------------------------------------------------


class ImportJobListFilter(admin.RelatedOnlyFieldListFilter):
    """The imports that created listed customers, by file and date; no "empty" choice, which
    the export's filters could not repeat."""

    def include_empty_choice(self) -> bool:
        return False

    def has_output(self) -> bool:
        return bool(self.lookup_choices)

    def field_choices(self, field, request, model_admin):
        job_ids = model_admin.get_queryset(request).values_list("import_job_id", flat=True)
        jobs = ImportJob.objects.filter(pk__in=job_ids).order_by("-created_at")
        return [(job.pk, f"{job.file_name} ({job.created_at:%Y-%m-%d %H:%M})") for job in jobs]


class VerifiedListFilter(admin.BooleanFieldListFilter):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.title = "verified"


# The list's filters as the export endpoint names them (users.selectors.CustomerFilter), and
# the values that are spelt differently there.
EXPORT_FILTERS = {
    "region__exact": "region",
    "is_verified__exact": "is_verified",
    "import_job__id__exact": "import_job",
}
EXPORT_VALUES = {"is_verified": {"1": "true", "0": "false"}}
EXPORT_ORDERING = {"shipping_mark", "last_name", "phone", "email", "region", "date_joined"}


def export_url(changelist) -> str:
    """The xlsx export of what the change list shows: its search, filters and sort."""
    params = {"format": "xlsx"}
    if changelist.query:
        params["search"] = changelist.query
    for admin_name, api_name in EXPORT_FILTERS.items():
        value = changelist.params.get(admin_name)
        if value not in (None, ""):
            params[api_name] = EXPORT_VALUES.get(api_name, {}).get(value, value)
    if ORDER_VAR in changelist.params:
        ordering = []
        for index, direction in changelist.get_ordering_field_columns().items():
            name = changelist.get_ordering_field(changelist.list_display[index])
            if name in EXPORT_ORDERING:
                ordering.append(("-" if direction == "desc" else "") + name)
        if ordering:
            params["ordering"] = ",".join(ordering)
    return f"{reverse('users:customer-export')}?{urlencode(params)}"


@admin.register(Customer)
class CustomerAdmin(_ForStaff, admin.ModelAdmin):
    list_display = [
        "shipping_mark",
        "name",
        "phone",
        "email",
        "region",
        "created",
        "created_by_name",
    ]
    list_filter = [
        "region",
        ("is_verified", VerifiedListFilter),
        ("import_job", ImportJobListFilter),
    ]
    # The search itself is the API's (get_search_results); these only turn the search box on.
    search_fields = ["shipping_mark", "first_name", "last_name", "phone", "email"]
    search_help_text = "Name, phone number (any format), email or shipping mark."
    list_select_related = ["created_by"]
    ordering = ["-date_joined", "-id"]
    list_per_page = 50
    fields = [
        "shipping_mark",
        "first_name",
        "last_name",
        "nickname",
        "phone",
        "email",
        "company_name",
        "region",
        "is_verified",
        "is_active",
        "date_joined",
        "last_login",
        "created_by",
        "import_job",
        "source_row",
    ]

    @admin.display(description="name", ordering="last_name")
    def name(self, customer: Customer) -> str:
        return customer.get_full_name()

    @admin.display(description="created", ordering="date_joined")
    def created(self, customer: Customer):
        return customer.date_joined

    @admin.display(description="created by")
    def created_by_name(self, customer: Customer) -> str:
        creator = customer.created_by
        return (creator.get_full_name() or creator.phone) if creator else "-"

    def has_import_permission(self, request) -> bool:
        return staff_may_use_admin(request)

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        found = selectors.CustomerFilter({"search": search_term}, queryset=queryset)
        if not found.is_valid():
            return queryset.none(), False
        return found.qs, False

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(
            request,
            {
                **(extra_context or {}),
                "import_url": reverse("admin:users_customer_import"),
                "has_import_permission": self.has_import_permission(request),
            },
        )
        if isinstance(response, TemplateResponse) and "cl" in response.context_data:
            response.context_data["export_url"] = export_url(response.context_data["cl"])
        return response

    def get_urls(self):
        def view(cls):
            return self.admin_site.admin_view(cls.as_view(model_admin=self))

        return [
            path("import/", view(admin_views.ImportUploadView), name="users_customer_import"),
            path(
                "import/<uuid:job_id>/",
                view(admin_views.ImportJobView),
                name="users_customer_import_job",
            ),
            path(
                "import/<uuid:job_id>/confirm/",
                view(admin_views.ImportConfirmView),
                name="users_customer_import_confirm",
            ),
            *super().get_urls(),
        ]


# --- import jobs ------------------------------------------------------------------------------


def _duration_text(elapsed: timedelta) -> str:
    seconds = elapsed.total_seconds()
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes} min {seconds} s"


@admin.register(ImportJob)
class ImportJobAdmin(_ForStaff, admin.ModelAdmin):
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
        "created_count",
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
    ]

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
