"""Reads of import jobs: who may see which, and the queue at a glance."""

from uuid import UUID

from django.core.exceptions import ValidationError
from django.db.models import Count, Min, QuerySet

from users.models import ImportJob, User


def import_jobs_visible(
    *, user: User, queryset: QuerySet[ImportJob] | None = None
) -> QuerySet[ImportJob]:
    """A job is visible to its owner and to super admins only."""
    if queryset is None:
        queryset = ImportJob.objects.all()
    if not user.is_super_admin:
        queryset = queryset.filter(owner=user)
    return queryset


def import_job_get(*, job_id: UUID | str, user: User) -> ImportJob | None:
    try:
        return import_jobs_visible(user=user).filter(pk=job_id).first()
    except (ValueError, TypeError, ValidationError):
        return None


def import_queue_summary() -> dict[str, object]:
    """Import jobs waiting and running, and the oldest heartbeat among the running ones."""
    active = ImportJob.objects.filter(status__in=ImportJob.ACTIVE_STATUSES)
    counts = dict(active.values_list("status").annotate(n=Count("id")).order_by())
    oldest = active.filter(status=ImportJob.Status.RUNNING).aggregate(at=Min("heartbeat_at"))["at"]
    return {
        "pending": counts.get(ImportJob.Status.QUEUED, 0),
        "running": counts.get(ImportJob.Status.RUNNING, 0),
        "oldest_heartbeat": oldest.isoformat() if oldest else None,
    }
