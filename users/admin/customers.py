"""Customers (role CUSTOMER) for every staff member: list, search, filters, the Import button
(users.admin.import_pages) and the Export button (the API's export of what the list shows)."""

from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.views.main import ORDER_VAR
from django.template.response import TemplateResponse
from django.urls import path, reverse

from users.admin import import_pages
from users.admin.changes import changes_table
from users.admin.forms import staff_may_use_admin
from users.admin.sign_in_links import SignInLinkView, send_sign_in_links
from users.admin.site import ForStaff
from users.customers import roles, selectors
from users.imports import selectors as import_selectors
from users.models import Customer, CustomerChange, ImportJob


class ImportJobListFilter(admin.RelatedOnlyFieldListFilter):
    """The imports that created listed customers, by file and date, among the imports the viewer
    may see (their own; a super admin's, all); no "empty" choice, which the export's filters could
    not repeat."""

    def include_empty_choice(self) -> bool:
        return False

    def has_output(self) -> bool:
        return bool(self.lookup_choices)

    def field_choices(self, field, request, model_admin):
        job_ids = model_admin.get_queryset(request).values_list("import_job_id", flat=True)
        jobs = import_selectors.import_jobs_visible(
            user=request.user, queryset=ImportJob.objects.filter(pk__in=job_ids)
        ).order_by("-created_at")
        return [(job.pk, f"{job.file_name} ({job.created_at:%Y-%m-%d %H:%M})") for job in jobs]


class VerifiedListFilter(admin.BooleanFieldListFilter):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.title = "verified"


# The list's filters as the export endpoint names them (users.customers.selectors.CustomerFilter),
# and the values that are spelt differently there.
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
class CustomerAdmin(ForStaff, admin.ModelAdmin):
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
    actions = [send_sign_in_links]
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
        "created_by_name",
        "import_job",
        "source_row",
        "history",
    ]
    readonly_fields = ["history", "created_by_name"]

    @admin.display(description="history of changes")
    def history(self, customer: Customer) -> str:
        return changes_table(
            CustomerChange.objects.filter(customer=customer),
            viewer=customer.viewer,
            by_customer=True,
        )

    @admin.display(description="name", ordering="last_name")
    def name(self, customer: Customer) -> str:
        return customer.get_full_name()

    @admin.display(description="created", ordering="date_joined")
    def created(self, customer: Customer):
        return customer.date_joined

    @admin.display(description="created by")
    def created_by_name(self, customer: Customer) -> str:
        creator = customer.created_by
        if creator is None or customer.shown_creator is None:
            return "-"
        return creator.get_full_name() or creator.phone

    def get_queryset(self, request):
        """The customers the caller may see (roles.visible), each with its creator's id when
        the caller may see the creator: the list, its search, the export link and one
        customer's page read these."""
        return (
            super()
            .get_queryset(request)
            .filter(roles.visible(request.user))
            .annotate(
                shown_creator=selectors.shown_user(actor=request.user, column="created_by_id")
            )
        )

    def get_object(self, request, object_id, from_field=None):
        # The customer's page names the authors of its changes as the caller may see them.
        customer = super().get_object(request, object_id, from_field)
        if customer is not None:
            customer.viewer = request.user
        return customer

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
            path("import/", view(import_pages.ImportUploadView), name="users_customer_import"),
            path(
                "import/<uuid:job_id>/",
                view(import_pages.ImportJobView),
                name="users_customer_import_job",
            ),
            path(
                "import/<uuid:job_id>/confirm/",
                view(import_pages.ImportConfirmView),
                name="users_customer_import_confirm",
            ),
            path(
                "import/<uuid:job_id>/remap/",
                view(import_pages.ImportRemapView),
                name="users_customer_import_remap",
            ),
            path(
                "import/<uuid:job_id>/fix/",
                view(import_pages.ImportFixView),
                name="users_customer_import_fix",
            ),
            path(
                "import/<uuid:job_id>/choose/",
                view(import_pages.ImportChoiceView),
                name="users_customer_import_choose",
            ),
            path(
                "import/<uuid:job_id>/cancel/",
                view(import_pages.ImportCancelView),
                name="users_customer_import_cancel",
            ),
            path(
                "import/<uuid:job_id>/undo/",
                view(import_pages.ImportUndoView),
                name="users_customer_import_undo",
            ),
            path(
                "<path:object_id>/sign-in-link/",
                view(SignInLinkView),
                name="users_customer_sign_in_link",
            ),
            *super().get_urls(),
        ]
