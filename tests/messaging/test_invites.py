"""Invites texted to imported customers (confirm with notify: true)."""

import pytest
from django.test import Client
from django.urls import reverse
from twilio.base.exceptions import TwilioRestException

from tests.imports.helpers import customer_record, preview, records
from users.models import ImportJob, User

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _small_batches(settings):
    settings.IMPORT_BATCH_SIZE = 4


def confirm(client, job, notify=True):
    return client.post(
        reverse("users:import-confirm"), {"upload_id": str(job.pk), "notify": notify}, format="json"
    )


def test_each_created_customer_gets_one_invite(staff, staff_client, twilio):
    job = preview(staff, records(10))

    confirm(staff_client, job)

    job.refresh_from_db()
    assert sorted(m["to"] for m in twilio.sent) == sorted(f"+233241{n:06d}" for n in range(10))
    assert "PM TEST 3" in next(m["body"] for m in twilio.sent if m["to"].endswith("000003"))
    assert (job.sms_sent_count, job.sms_failed_count) == (10, 0)


def test_rows_not_created_get_no_invite(staff, staff_client, twilio):
    job = preview(staff, [customer_record(0), customer_record(1, phone="12")])

    confirm(staff_client, job)

    assert [m["to"] for m in twilio.sent] == ["+233241000000"]


def test_without_notify_nobody_is_texted(staff, staff_client, twilio):
    job = preview(staff, records(3))

    confirm(staff_client, job, notify=False)

    assert twilio.sent == []


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


def test_the_invite_names_the_way_in_that_works_and_it_works(staff, staff_client, twilio):
    """The SPA has no page for the PIN reset: an invite that said "we will text you a PIN"
    led nowhere. It names Forgot password and an administrator's reset, which let them in."""
    job = preview(staff, records(1))
    confirm(staff_client, job)
    [invite] = twilio.sent
    customer = User.objects.get(phone=invite["to"])

    forgot = Client().post(
        "/api/auth/phone/forgot-password/", {"phone": invite["to"]}, content_type="application/json"
    )
    staff_client.post(
        reverse("users:admin-user-reset-password", args=[customer.pk]),
        {"new_password": "PrimeMade1"},
        format="json",
    )
    login = Client().post(
        "/api/auth/login/",
        {"phone": invite["to"], "password": "PrimeMade1"},
        content_type="application/json",
    )

    assert "Forgot password" in invite["body"]
    assert "administrator" in invite["body"]
    assert "text you a PIN" not in invite["body"]
    assert forgot.status_code == 200
    assert login.status_code == 200
    assert "tokens" in login.json()
