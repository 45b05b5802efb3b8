"""Invites texted to imported customers (confirm with notify: true): each holds the customer's
sign-in link, the way in to set a first password."""

import re

import pytest
from django.test import Client
from django.urls import reverse
from twilio.base.exceptions import TwilioRestException

from tests.imports.helpers import customer_record, preview, records
from users.credentials.links import LinkState, sign_in_link_check
from users.messaging import sms
from users.messaging.invites import invite_text
from users.models import ImportJob, SignInLink

pytestmark = pytest.mark.django_db(transaction=True)

LINK = re.compile(r"https://api\.primepre\.test/i/(?P<uid>[0-9a-z]+)/(?P<token>[0-9a-z-]+)/")
GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


@pytest.fixture(autouse=True)
def _small_batches(settings):
    settings.IMPORT_BATCH_SIZE = 4


def confirm(client, job, notify=True):
    return client.post(
        reverse("users:import-confirm"), {"upload_id": str(job.pk), "notify": notify}, format="json"
    )


def test_each_created_customer_gets_one_invite_with_their_own_link(staff, staff_client):
    job = preview(staff, records(10))

    confirm(staff_client, job)

    job.refresh_from_db()
    assert sorted(m.to for m in sms.outbox) == sorted(f"+233241{n:06d}" for n in range(10))
    assert {m.kind for m in sms.outbox} == {"invite"}
    for message in sms.outbox:
        check = sign_in_link_check(**LINK.search(message.body).groupdict())
        assert check.state == LinkState.VALID
        assert check.user.phone == message.to
        assert (check.link.purpose, check.link.via) == ("invite", "sms")
        assert check.link.created_by == staff
    assert (job.sms_sent_count, job.sms_failed_count) == (10, 0)


def test_the_invite_is_one_gsm7_segment():
    url = "https://primepre-api.onrender.com/i/4fti4/cz8y2e-0123456789abcdef0123456789abcdef/"

    text = invite_text(url=url)

    assert set(text) <= GSM7
    assert len(text) <= 160


def test_rows_not_created_get_no_invite(staff, staff_client):
    job = preview(staff, [customer_record(0), customer_record(1, phone="12")])

    confirm(staff_client, job)

    assert [m.to for m in sms.outbox] == ["+233241000000"]


def test_without_notify_nobody_is_texted(staff, staff_client):
    job = preview(staff, records(3))

    confirm(staff_client, job, notify=False)

    assert sms.outbox == []
    assert not SignInLink.objects.exists()


def test_sms_failures_are_counted_and_never_fail_the_import(staff, staff_client, twilio):
    twilio.fail_with = TwilioRestException(status=500, uri="/Messages", msg="down", code=20500)
    job = preview(staff, records(6))

    confirm(staff_client, job)

    job.refresh_from_db()
    assert job.status == ImportJob.Status.COMPLETE
    assert job.created_count == 6
    assert (job.sms_sent_count, job.sms_failed_count) == (0, 6)
    status = staff_client.get(reverse("users:import-status", args=[job.pk])).json()
    assert (status["sms_sent"], status["sms_failed"]) == (0, 6)
    # A link whose text never went is taken back: a later run texts them.
    assert not SignInLink.objects.exists()


def test_an_imported_customer_gets_in_through_the_invite(staff, staff_client):
    job = preview(staff, records(1))
    confirm(staff_client, job)
    [invite] = sms.outbox
    path = LINK.search(invite.body).group(0).removeprefix("https://api.primepre.test")
    password = "Harmattan-breeze-31"

    chosen = Client().post(path, {"new_password1": password, "new_password2": password})
    login = Client().post(
        "/api/auth/login/",
        {"phone": invite.to, "password": password},
        content_type="application/json",
    )

    assert chosen.status_code == 200
    assert login.status_code == 200
    assert "tokens" in login.json()
