"""The changes of customers' fields (CustomerChange) as the admin's pages show them: a customer's
history on its page, an import's changes on the import's."""

from django.db.models import QuerySet
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from users.customers import selectors
from users.imports.parse import FIELD_LABELS
from users.models import CustomerChange, User

SHOWN = 50


def _fields_text(change: CustomerChange):
    return format_html_join(
        "",
        "<div>{}: {} &rarr; {}</div>",
        (
            (
                FIELD_LABELS.get(name, name),
                values.get("old") or "(blank)",
                values.get("new") or "(blank)",
            )
            for name, values in change.fields.items()
        ),
    )


def changes_table(changes: QuerySet[CustomerChange], *, viewer: User, by_customer: bool) -> str:
    """The latest SHOWN changes as a table, with how many there are in all; who made each is
    named only when `viewer` may see them (users.customers.roles.visible)."""
    total = changes.count()
    if not total:
        return "None"
    rows = (
        changes.select_related("changed_by")
        .annotate(shown_changed_by=selectors.shown_user(actor=viewer, column="changed_by_id"))
        .order_by("-changed_at", "-id")[:SHOWN]
    )
    body = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                f"{change.changed_at:%Y-%m-%d %H:%M}",
                change.get_source_display(),
                _link(change, by_customer),
                change.changed_by.get_full_name() if change.shown_changed_by else "-",
                _fields_text(change),
            )
            for change in rows
        ),
    )
    more = f"The latest {SHOWN} of {total:,}." if total > SHOWN else ""
    heading = "Import" if by_customer else "Customer"
    return format_html(
        '<table class="customer-changes"><thead><tr><th>When</th><th>What</th><th>{}</th>'
        "<th>By</th><th>Fields</th></tr></thead><tbody>{}</tbody></table><p>{}</p>",
        heading,
        body,
        more,
    )


def _link(change: CustomerChange, by_customer: bool):
    if by_customer:
        if change.import_job_id is None:
            return "-"
        url = reverse("admin:users_customer_import_job", args=[change.import_job_id])
        return format_html('<a href="{}">row {}</a>', url, change.source_row or "-")
    url = reverse("admin:users_customer_change", args=[change.customer_id])
    return format_html('<a href="{}">#{}</a>', url, change.customer_id)
