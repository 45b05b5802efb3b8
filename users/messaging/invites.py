"""Invites texted to customers an import created (when the import was confirmed with notify).

Sent by a task of their own after each batch commits, so a slow or failing SMS provider never
slows or fails the import; every outcome is counted on the job."""

import logging

from django.conf import settings
from django.db.models import F

from users.messaging.sms import SmsSender
from users.models import ImportJob, User

logger = logging.getLogger(__name__)


def invite_text(customer: User) -> str:
    """Names the way in that works for an account without a password: the SPA's Forgot password
    page leads to primepre's contacts, and an administrator's reset gives a temporary password
    (the SPA has no page for the SMS PIN reset)."""
    where = f" at {settings.APP_URL}" if settings.APP_URL else ""
    return (
        f"Welcome to primepre, {customer.first_name}. Your shipping mark is "
        f"{customer.shipping_mark}. To get into your account{where}, choose 'Forgot password' "
        "on the sign-in page, enter this phone number and contact primepre: an administrator "
        "will give you a temporary password. Then choose your own in your profile."
    )


def import_job_send_invites(*, job_id, source_rows: list[int]) -> tuple[int, int]:
    """Texts an invite to each customer the job created from these rows; returns (sent, failed)."""
    customers = User.objects.filter(import_job_id=job_id, source_row__in=source_rows).only(
        "phone", "first_name", "shipping_mark"
    )
    sender = SmsSender()
    sent = failed = 0
    for customer in customers.iterator(chunk_size=500):
        if sender.send(to=customer.phone, body=invite_text(customer), kind="invite").sent:
            sent += 1
        else:
            failed += 1
    ImportJob.objects.filter(pk=job_id).update(
        sms_sent_count=F("sms_sent_count") + sent, sms_failed_count=F("sms_failed_count") + failed
    )
    logger.info("[IMPORT-INVITES] job=%s sent=%s failed=%s", job_id, sent, failed)
    return sent, failed
