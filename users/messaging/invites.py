"""Invites: a text holding the customer's sign-in link, which opens the page where they set their
first password (users.credentials.links, purpose invite).

Who gets one: an active customer who has never had a password of their own (no usable password
and never signed in): `awaiting_first_password`. Three ways send them, all through the task
worker: confirming an import with notify (after each committed batch), the Django admin's action
"Send sign-in links" and the command `send_sign_in_links`. Whatever the way, a customer is texted
an invite at most once per INVITE_RESEND_HOURS: the window is read from the SignInLink rows
(purpose invite, via sms), under a lock of the customer's row, when the text is about to go.
A batch is paced at SMS_PER_SECOND (users.messaging.sms.SmsSender)."""

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import islice

from django.conf import settings
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from users.credentials.links import sign_in_link_issue
from users.messaging.sms import SmsSender
from users.models import ImportJob, Role, SignInLink, User

logger = logging.getLogger(__name__)

# Customers per queued task: each task's arguments stay small, and a stopped worker loses at
# most one task's progress (the window keeps its retry from texting anyone twice).
INVITES_PER_TASK = 500
# Customers whose links one transaction records before their texts go (see invites_send).
ISSUE_BATCH = 50


def invite_text(*, url: str) -> str:
    """GSM-7 characters only and no name or mark (which may not be), so that with a link of
    SIGN_IN_LINK_BASE_URL's usual length the whole text is one 160-character SMS segment."""
    return f"primepre: your account is ready. Set your password here: {url}"


def awaiting_first_password() -> QuerySet[User]:
    """Active customers who have never had a password of their own: an invite is for them."""
    return User.objects.filter(
        user_role=Role.CUSTOMER,
        is_active=True,
        password__startswith=UNUSABLE_PASSWORD_PREFIX,
        last_login__isnull=True,
    )


def invited_recently() -> QuerySet[SignInLink]:
    """The invites texted within the window (INVITE_RESEND_HOURS): nobody gets another yet."""
    since = timezone.now() - timedelta(hours=settings.INVITE_RESEND_HOURS)
    return SignInLink.objects.filter(
        purpose=SignInLink.Purpose.INVITE, via=SignInLink.Via.SMS, created_at__gte=since
    )


def invitable() -> QuerySet[User]:
    """Who would be texted an invite now: awaiting a first password, not invited in the window."""
    return awaiting_first_password().exclude(pk__in=invited_recently().values("user_id"))


@dataclass
class InviteCounts:
    sent: int = 0
    failed: int = 0
    # Not texted: given a password, signed in or invited within the window since being queued.
    skipped: int = 0
    # Not reached: the worker was asked to stop first.
    left: list[int] = field(default_factory=list)


def _issue(user_ids: list[int], created_by_id: int | None) -> list[tuple[User, str]]:
    """Records a new invite link for each of these customers who is still invitable, in one
    transaction. Their rows are locked first (in id order, so two senders cannot deadlock) and
    the window read after, so a second sender of the same customers waits for this one, then
    sees its links and skips them."""
    with transaction.atomic():
        customers = list(
            awaiting_first_password().select_for_update().filter(pk__in=user_ids).order_by("pk")
        )
        recent = set(
            invited_recently().filter(user_id__in=user_ids).values_list("user_id", flat=True)
        )
        created_by = User(pk=created_by_id) if created_by_id else None
        return [
            (
                customer,
                sign_in_link_issue(
                    user=customer,
                    purpose=SignInLink.Purpose.INVITE,
                    via=SignInLink.Via.SMS,
                    created_by=created_by,
                ),
            )
            for customer in customers
            if customer.pk not in recent
        ]


def _take_back(customer: User) -> None:
    """Deletes the invite link whose text the provider refused. Within the window it is the
    customer's only texted invite (any other sender skipped them), so it is the one deleted."""
    SignInLink.objects.filter(
        pk__in=invited_recently().filter(user=customer).order_by("-created_at", "-pk")[:1]
    ).delete()


def invites_send(
    *,
    user_ids: list[int],
    created_by_id: int | None = None,
    job_id=None,
    should_stop: Callable[[], bool] = lambda: False,
) -> InviteCounts:
    """Texts each of these customers their invite link, if they are still invitable, and counts
    the outcome on the import job when one is named.

    The links of ISSUE_BATCH customers are recorded in one transaction (one commit, not one per
    customer: bench/bench_invites.py's profile), then their texts go, paced. A text the provider
    refused takes its link back, so the window does not hold it against the customer and a later
    run retries them. When should_stop() turns true it stops between batches and names the
    customers it did not reach (`left`); a worker killed between a commit and its texts leaves
    at most one batch with links but no text, which the window holds back until it ends."""
    counts = InviteCounts()
    sender = SmsSender()
    for start in range(0, len(user_ids), ISSUE_BATCH):
        if should_stop():
            counts.left = user_ids[start:]
            break
        chunk = user_ids[start : start + ISSUE_BATCH]
        issued = _issue(chunk, created_by_id)
        counts.skipped += len(chunk) - len(issued)
        for customer, url in issued:
            if sender.send(to=customer.phone, body=invite_text(url=url), kind="invite").sent:
                counts.sent += 1
            else:
                _take_back(customer)
                counts.failed += 1
    if job_id is not None:
        ImportJob.objects.filter(pk=job_id).update(
            sms_sent_count=F("sms_sent_count") + counts.sent,
            sms_failed_count=F("sms_failed_count") + counts.failed,
        )
    logger.info(
        "[INVITES] job=%s sent=%s failed=%s skipped=%s left=%s",
        job_id,
        counts.sent,
        counts.failed,
        counts.skipped,
        len(counts.left),
    )
    return counts


def import_job_invitees(*, job_id, source_rows: list[int]) -> tuple[list[int], int | None]:
    """The customers the job created from these rows (notify), and the job's owner, who asked."""
    user_ids = (
        User.objects.filter(import_job_id=job_id, source_row__in=source_rows)
        .order_by("source_row")
        .values_list("pk", flat=True)
    )
    owner_id = ImportJob.objects.filter(pk=job_id).values_list("owner_id", flat=True).first()
    return list(user_ids), owner_id


def chunks(ids: Iterable[int], size: int) -> Iterator[list[int]]:
    iterator = iter(ids)
    while chunk := list(islice(iterator, size)):
        yield chunk
