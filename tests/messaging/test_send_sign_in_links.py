"""Invites asked for by an admin: the command send_sign_in_links, the window that keeps a
customer from being texted twice, the worker's second look, and the pacing of a batch."""

from contextlib import nullcontext
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from tests.factories import CustomerFactory, StaffFactory
from tests.imports.helpers import preview, queue, records, run
from users.messaging import invites, sms
from users.messaging import tasks as invite_tasks
from users.models import SignInLink

pytestmark = pytest.mark.django_db(transaction=True)


def send_sign_in_links(*args: str) -> str:
    out = StringIO()
    call_command("send_sign_in_links", *args, stdout=out)
    return out.getvalue()


def imported(staff, count: int):
    job = preview(staff, records(count))
    run(queue(job))
    job.refresh_from_db()
    return job


def test_the_command_texts_the_customers_of_one_import_and_counts_on_the_job(staff):
    job = imported(staff, 3)
    other = CustomerFactory(shipping_mark="PM OTHER")

    answer = send_sign_in_links("--import", str(job.pk))

    assert answer.startswith("Queued 3 invites in 1 tasks; skipped 0 customers")
    assert sorted(m.to for m in sms.outbox) == ["+233241000000", "+233241000001", "+233241000002"]
    assert other.phone not in {m.to for m in sms.outbox}
    job.refresh_from_db()
    assert (job.sms_sent_count, job.sms_failed_count) == (3, 0)


def test_never_signed_in_means_active_customers_without_a_password_of_their_own():
    waiting = CustomerFactory()
    CustomerFactory(password="their-own-password-1")
    CustomerFactory(is_active=False)
    CustomerFactory(last_login=timezone.now())
    StaffFactory(password=None)

    answer = send_sign_in_links("--never-signed-in")

    assert answer.startswith("Queued 1 invites in 1 tasks")
    assert [m.to for m in sms.outbox] == [waiting.phone]


def test_nobody_is_texted_twice_within_the_window(settings):
    settings.INVITE_RESEND_HOURS = 24
    first, second = CustomerFactory(), CustomerFactory()
    send_sign_in_links("--never-signed-in")
    newcomer = CustomerFactory()

    answer = send_sign_in_links("--never-signed-in")

    assert answer.startswith("Queued 1 invites in 1 tasks; skipped 2")
    assert sorted(m.to for m in sms.outbox) == sorted([first.phone, second.phone, newcomer.phone])


def test_after_the_window_a_customer_may_be_texted_again(settings):
    settings.INVITE_RESEND_HOURS = 24
    customer = CustomerFactory()
    send_sign_in_links("--never-signed-in")
    SignInLink.objects.update(created_at=timezone.now() - timedelta(hours=24, minutes=1))

    send_sign_in_links("--never-signed-in")

    assert [m.to for m in sms.outbox] == [customer.phone, customer.phone]
    assert SignInLink.objects.filter(user=customer).count() == 2


def test_a_link_made_by_hand_does_not_hold_back_a_text():
    customer = CustomerFactory()
    SignInLink.objects.create(user=customer, purpose="invite", via="hand")

    send_sign_in_links("--never-signed-in")

    assert [m.to for m in sms.outbox] == [customer.phone]


def test_the_worker_looks_again_when_it_texts(held_tasks):
    """Between the queueing and the text, one customer set a password and another was texted
    by another run: neither is texted (again)."""
    chose, texted, waiting = CustomerFactory(), CustomerFactory(), CustomerFactory()
    send_sign_in_links("--never-signed-in")
    chose.set_password("their-own-password-1")
    chose.save()
    invites.invites_send(user_ids=[texted.pk])
    sms.outbox.clear()

    [queued] = held_tasks
    outcome = queued.task.call(*queued.args, **queued.kwargs)

    assert [m.to for m in sms.outbox] == [waiting.phone]
    assert outcome == {"sent": 1, "failed": 0, "skipped": 2, "left": 0}


def test_two_runs_over_the_same_customers_text_each_once():
    customers = [CustomerFactory() for _ in range(3)]
    ids = [c.pk for c in customers]

    first = invites.invites_send(user_ids=ids)
    second = invites.invites_send(user_ids=ids)

    assert (first.sent, second.sent, second.skipped) == (3, 0, 3)
    assert len(sms.outbox) == 3


def test_a_long_list_is_queued_in_tasks_of_a_bounded_size(monkeypatch, held_tasks):
    monkeypatch.setattr(invites, "INVITES_PER_TASK", 2)
    for _ in range(5):
        CustomerFactory()

    answer = send_sign_in_links("--never-signed-in")

    assert answer.startswith("Queued 5 invites in 3 tasks")
    assert [len(r.kwargs["user_ids"]) for r in held_tasks] == [2, 2, 1]
    assert all(r.task == invite_tasks.invites_send_task for r in held_tasks)


def test_a_batch_of_invites_is_paced(settings, monkeypatch):
    settings.SMS_PER_SECOND = 2
    sleeps = []
    clock = {"now": 0.0}

    def sleep(seconds):
        sleeps.append(seconds)
        clock["now"] += seconds

    monkeypatch.setattr(sms.time, "monotonic", lambda: clock["now"])
    monkeypatch.setattr(sms.time, "sleep", sleep)
    for _ in range(3):
        CustomerFactory()

    send_sign_in_links("--never-signed-in")

    assert sleeps == [0.5, 0.5]
    assert len(sms.outbox) == 3


def test_an_unknown_import_is_a_clear_error():
    with pytest.raises(CommandError, match="No import has the id 'nope'"):
        send_sign_in_links("--import", "nope")


def test_with_sms_disabled_the_command_refuses_and_records_nothing(settings):
    settings.SMS_BACKEND = "disabled"
    CustomerFactory()

    with pytest.raises(CommandError, match="SMS_BACKEND is disabled"):
        send_sign_in_links("--never-signed-in")

    assert not SignInLink.objects.exists()


def test_the_command_asks_for_one_group_of_customers():
    with pytest.raises(CommandError):
        send_sign_in_links()


def test_a_worker_asked_to_stop_names_the_customers_it_did_not_reach(monkeypatch):
    monkeypatch.setattr(invites, "ISSUE_BATCH", 2)
    customers = [CustomerFactory() for _ in range(5)]
    asked = iter([False, True])

    counts = invites.invites_send(
        user_ids=[c.pk for c in customers], should_stop=lambda: next(asked)
    )

    assert (counts.sent, counts.left) == (2, [c.pk for c in customers[2:]])
    assert [m.to for m in sms.outbox] == [c.phone for c in customers[:2]]


def test_the_customers_a_stopping_worker_did_not_reach_are_queued_again(monkeypatch, held_tasks):
    monkeypatch.setattr(invites, "ISSUE_BATCH", 2)
    customers = [CustomerFactory() for _ in range(3)]
    ids = [c.pk for c in customers]
    stopping = type("Stop", (), {"is_set": staticmethod(lambda: bool(sms.outbox))})()
    monkeypatch.setattr(invite_tasks, "stop_requested_on_signals", lambda: nullcontext(stopping))

    outcome = invite_tasks.invites_send_until_stopped(user_ids=ids)

    assert outcome == {"sent": 2, "failed": 0, "skipped": 0, "left": 1}
    [again] = held_tasks
    assert again.kwargs["user_ids"] == ids[2:]
