"""Reads for the upload dashboard: customer counts, customers by region, recent imports."""

from datetime import timedelta

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from users.customers import selectors as customers
from users.imports import selectors
from users.models import ImportJob, Region, User

RECENT_DAYS = 30
HISTORY_LIMIT = 20


def _customers(user: User) -> QuerySet[User]:
    """The customers `user` may see (users.customers.roles.visible), as the list counts them."""
    return customers.users_of(actor=user, scope=customers.Scope.CUSTOMERS)


def customer_counts(*, user: User) -> dict[str, int]:
    """Customers (role CUSTOMER) `user` may see in all, active, verified, and joined in the last
    RECENT_DAYS: one query."""
    since = timezone.now() - timedelta(days=RECENT_DAYS)
    return _customers(user).aggregate(
        total_customers=Count("id"),
        active_customers=Count("id", filter=Q(is_active=True)),
        verified_customers=Count("id", filter=Q(is_verified=True)),
        recent_customers=Count("id", filter=Q(date_joined__gte=since)),
    )


def region_distribution(*, user: User) -> list[dict[str, object]]:
    """Every region in Region order with its number of customers `user` may see, zeros
    included."""
    counts = dict(_customers(user).values_list("region").annotate(count=Count("id")).order_by())
    return [
        {"region": code, "label": label, "count": counts.get(code, 0)}
        for code, label in Region.choices
    ]


def upload_history(*, user: User, limit: int = HISTORY_LIMIT) -> list[dict[str, object]]:
    """The latest imports `user` may see, newest first: who imported the file, when, and how
    many customers it created. Previews never confirmed are not imports and are left out."""
    jobs = (
        selectors.import_jobs_visible(user=user)
        .exclude(status=ImportJob.Status.PARSED)
        .select_related("owner")
        .order_by("-created_at", "-pk")[:limit]
    )
    return [
        {
            "task_id": job.pk,
            "file_name": job.file_name,
            "owner": {"id": job.owner_id, "name": job.owner.get_full_name() or job.owner.phone},
            "status": job.status,
            "total_rows": job.total_rows,
            "created": job.created_count,
            "failed": job.failed_count,
            "skipped": job.skipped_count,
            "created_at": job.created_at,
            "finished_at": job.finished_at,
        }
        for job in jobs
    ]


def customer_stats(*, user: User) -> dict[str, object]:
    """The stats endpoint's answer, for `user` (who decides which imports are listed)."""
    return {
        **customer_counts(user=user),
        "region_distribution": region_distribution(user=user),
        "upload_history": upload_history(user=user),
    }
