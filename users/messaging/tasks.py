"""Invites asked for by an admin (the admin action, the command), queued to the task worker in
tasks of INVITES_PER_TASK customers each."""

from dataclasses import dataclass
from functools import partial

from django.db import transaction
from django.db.models import QuerySet
from django_tasks import task

from users.messaging import invites
from users.models import User
from users.workers import stop_requested_on_signals


def invites_send_until_stopped(
    *, user_ids: list[int], created_by_id: int | None = None, job_id: str | None = None
) -> dict:
    """Texts these customers' invites, stopping between batches when the worker is asked to stop
    (SIGTERM, a deploy): the customers not reached are queued again for the next worker."""
    with stop_requested_on_signals() as stop:
        counts = invites.invites_send(
            user_ids=user_ids, created_by_id=created_by_id, job_id=job_id, should_stop=stop.is_set
        )
    if counts.left:
        invites_send_task.enqueue(user_ids=counts.left, created_by_id=created_by_id, job_id=job_id)
    return {
        "sent": counts.sent,
        "failed": counts.failed,
        "skipped": counts.skipped,
        "left": len(counts.left),
    }


@task()
def invites_send_task(
    user_ids: list[int], created_by_id: int | None = None, job_id: str | None = None
) -> dict:
    return invites_send_until_stopped(user_ids=user_ids, created_by_id=created_by_id, job_id=job_id)


@dataclass(frozen=True)
class InvitesQueued:
    """The answer to an admin who asked: how many of the customers were queued, how many not
    (they have a password of their own, or were texted an invite within the window)."""

    queued: int
    skipped: int
    tasks: int


def invites_queue(
    *, customers: QuerySet[User], created_by: User | None = None, job_id: str | None = None
) -> InvitesQueued:
    """Queues an invite for each of these customers who is invitable now (once the current
    transaction commits); the worker checks each again when it texts them."""
    asked = customers.count()
    ids = (
        invites.invitable()
        .filter(pk__in=customers.values("pk"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    queued = tasks = 0
    # The ids are read whole before any task is queued: a task run at once (no transaction, or
    # the immediate backend) must not write under an open cursor.
    for chunk in invites.chunks(list(ids), invites.INVITES_PER_TASK):
        transaction.on_commit(
            partial(
                invites_send_task.enqueue,
                user_ids=chunk,
                created_by_id=created_by.pk if created_by else None,
                job_id=job_id,
            )
        )
        queued += len(chunk)
        tasks += 1
    return InvitesQueued(queued=queued, skipped=asked - queued, tasks=tasks)
