"""The column mappings remembered (users.imports.mappings): every staff member sees them and may
forget one (the API's rule); nobody adds or edits one here, since a mapping is remembered only
when an import read with it is confirmed."""

from django.contrib import admin
from django.db.models import QuerySet
from django.utils.html import format_html_join

from users.admin.forms import staff_may_use_admin
from users.admin.site import ForStaff
from users.imports import mappings
from users.models import RememberedMapping


@admin.register(RememberedMapping)
class RememberedMappingAdmin(ForStaff, admin.ModelAdmin):
    list_display = ["header_row", "columns_chosen", "chooser", "chosen_at", "times_used"]
    list_display_links = ["header_row"]
    fields = readonly_fields = (
        "header_row",
        "columns_chosen",
        "chooser",
        "chosen_at",
        "times_used",
        "last_used_at",
    )
    date_hierarchy = "chosen_at"

    def has_delete_permission(self, request, obj=None) -> bool:
        return staff_may_use_admin(request)

    def get_queryset(self, request) -> QuerySet[RememberedMapping]:
        return mappings.remembered_mapping_list(viewer=request.user)

    def delete_model(self, request, obj: RememberedMapping) -> None:
        mappings.remembered_mapping_forget(mapping_id=obj.pk, user=request.user)

    def delete_queryset(self, request, queryset: QuerySet[RememberedMapping]) -> None:
        for mapping_id in queryset.values_list("pk", flat=True):
            mappings.remembered_mapping_forget(mapping_id=mapping_id, user=request.user)

    @admin.display(description="headers")
    def header_row(self, mapping: RememberedMapping) -> str:
        return ", ".join(text for text in mapping.headers if text)

    @admin.display(description="columns chosen")
    def columns_chosen(self, mapping: RememberedMapping) -> str:
        return format_html_join(
            "",
            "<div>{} &larr; {}</div>",
            (
                (name, header if header is not None else "(not imported)")
                for name, header in mapping.choices.items()
            ),
        )

    @admin.display(description="chosen by")
    def chooser(self, mapping: RememberedMapping) -> str:
        """The admin who chose, when the caller may see them (roles.visible)."""
        chooser = mappings.shown_chooser(mapping)
        if chooser is None:
            return "-"
        return chooser.get_full_name() or chooser.phone
