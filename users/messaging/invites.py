"""Invites: a text holding the customer's sign-in link, which opens the page where they set their
first password (users.accounts.links, purpose invite).

Who gets one: an active customer who has never had a password of their own (no usable password
and never signed in): `awaiting_first_password`. Three ways send them, all through the task
worker: confirming an import with notify (after each committed batch), the Django admin's action
"Send sign-in links" and the command `send_sign_in_links`. Whatever the way, a customer is texted
an invite at most once per INVITE_RESEND_HOURS: the window is read from the SignInLink rows
(purpose invite, via sms), under a lock of the customer's row, when the text is about to go.
A batch is paced at SMS_PER_SECOND (users.messaging.sms.SmsSender)."""

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from itertools import islice

from django.conf import settings
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from users.accounts.links import sign_in_link_issue
from users.messaging.sms import SmsSender
from users.models import ImportJob, Role, SignInLink, User

logger = logging.getLogger(__name__)

# Customers per queued task: each task's arguments stay small, and a stopped worker loses at
# most one task's progress (the window keeps its retry from texting anyone twice).
INVITES_PER_TASK = 500


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


def _issue(user_id: int, created_by_id: int | None) -> tuple[User, SignInLink, str] | None:
    """Records the customer's new invite link, unless they are no longer invitable. The
    customer's row is locked first and the window read after, so a second sender of the same
    customer waits for this one, then sees its link and skips them."""
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=user_id).first()
        if user is None or not invitable().filter(pk=user_id).exists():
            return None
        url = sign_in_link_issue(
            user=user,
            purpose=SignInLink.Purpose.INVITE,
            via=SignInLink.Via.SMS,
            created_by=User(pk=created_by_id) if created_by_id else None,
        )
        link = SignInLink.objects.filter(user=user).order_by("-created_at", "-pk").first()
        return user, link, url


def invites_send(
    *, user_ids: Iterable[int], created_by_id: int | None = None, job_id=None
) -> InviteCounts:
    """Texts each of these customers their invite link, if they are still invitable, and counts
    the outcome on the import job when one is named. Each link is recorded before its text goes;
    a text the provider refused takes its link back (the row is deleted), so the window does not
    hold it against the customer and a later run retries them."""
    counts = InviteCounts()
    sender = SmsSender()
    for user_id in user_ids:
        issued = _issue(user_id, created_by_id)
        if issued is None:
            counts.skipped += 1
            continue
        user, link, url = issued
        if sender.send(to=user.phone, body=invite_text(url=url), kind="invite").sent:
            counts.sent += 1
        else:
            link.delete()
            counts.failed += 1
    if job_id is not None:
        ImportJob.objects.filter(pk=job_id).update(
            sms_sent_count=F("sms_sent_count") + counts.sent,
            sms_failed_count=F("sms_failed_count") + counts.failed,
        )
    logger.info(
        "[INVITES] job=%s sent=%s failed=%s skipped=%s",
        job_id,
        counts.sent,
        counts.failed,
        counts.skipped,
    )
    return counts


def import_job_send_invites(*, job_id, source_rows: list[int]) -> tuple[int, int]:
    """Texts an invite to each customer the job created from these rows (notify); returns
    (sent, failed), which are counted on the job."""
    user_ids = (
        User.objects.filter(import_job_id=job_id, source_row__in=source_rows)
        .order_by("source_row")
        .values_list("pk", flat=True)
    )
    owner_id = ImportJob.objects.filter(pk=job_id).values_list("owner_id", flat=True).first()
    counts = invites_send(user_ids=list(user_ids), created_by_id=owner_id, job_id=job_id)
    return counts.sent, counts.failed


def chunks(ids: Iterable[int], size: int) -> Iterator[list[int]]:
    iterator = iter(ids)
    while chunk := list(islice(iterator, size)):
        yield chunk
