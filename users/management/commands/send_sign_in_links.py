"""Texts sign-in links (invites) to customers who have never had a password of their own: those
an import created, or all of them. Queued to the task worker, paced and windowed as every invite
is (users.messaging.invites)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from users.messaging import invites, sms
from users.messaging.tasks import invites_queue
from users.models import ImportJob, Role, User


class Command(BaseCommand):
    help = (
        "Queue an invite text (a sign-in link to set a first password) for each customer of one "
        "import, or each customer who never signed in, who was not texted one within "
        "INVITE_RESEND_HOURS."
    )

    def add_arguments(self, parser):
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--import", dest="import_id", metavar="ID", help="an import's id")
        who.add_argument(
            "--never-signed-in",
            action="store_true",
            help="every active customer who has never had a password of their own",
        )

    def handle(self, *args, import_id=None, never_signed_in=False, **options):
        if not sms.sms_configured():
            raise CommandError(
                "SMS_BACKEND is disabled: no text can be sent. Make a link to pass on by hand "
                "from the customer's admin page instead."
            )
        if import_id is not None:
            try:
                job = ImportJob.objects.filter(pk=import_id).first()
            except ValidationError:
                job = None
            if job is None:
                raise CommandError(f"No import has the id {import_id!r}.")
            customers = User.objects.filter(import_job=job, user_role=Role.CUSTOMER)
            queued = invites_queue(customers=customers, job_id=str(job.pk))
        else:
            queued = invites_queue(customers=invites.awaiting_first_password())
        self.stdout.write(
            f"Queued {queued.queued} invites in {queued.tasks} tasks; skipped {queued.skipped} "
            "customers who have a password of their own, have signed in, or were texted an "
            f"invite within the last {settings.INVITE_RESEND_HOURS} hours."
        )
