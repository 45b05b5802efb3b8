"""Running jobs: batches, checkpoint, claim, resume. Real commits (transaction=True), so what a
crashed worker leaves behind is what the next one sees."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, OperationalError, connection
from django.utils import timezone

from tests.factories import CustomerFactory, StaffFactory
from tests.imports.helpers import customer_record, phone, preview, queue, records, run
from users.imports import run as runner
from users.models import ImportJob, ImportRowError, User

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _small_batches(settings):
    settings.IMPORT_BATCH_SIZE = 10


@pytest.fixture
def owner():
    return StaffFactory()


def imported(job) -> list[int]:
    return sorted(User.objects.filter(import_job=job).values_list("source_row", flat=True))


class Crash(BaseException):
    """Stands for a worker dying (like SystemExit): nothing in the run may catch it."""


def crash_on_call(monkeypatch, target: str, call: int):
    """Makes users.imports.run.<target> raise Crash on its `call`-th call."""
    original = getattr(runner, target)
    calls = {"n": 0}

    def wrapper(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == call:
            raise Crash
        return original(*args, **kwargs)

    monkeypatch.setattr(runner, target, wrapper)


def make_stale(job) -> None:
    ImportJob.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=3600)
    )


def test_a_job_creates_every_row_in_batches(owner):
    job = queue(preview(owner, records(35)))

    outcome = run(job)

    job.refresh_from_db()
    assert outcome == "complete"
    assert job.status == ImportJob.Status.COMPLETE
    assert job.created_count == 35
    assert job.checkpoint == 35
    assert imported(job) == list(range(2, 37))


def test_imported_customers_have_no_usable_password_and_know_their_origin(owner):
    job = queue(preview(owner, records(3)))

    run(job)

    customer = User.objects.get(import_job=job, source_row=2)
    assert customer.has_usable_password() is False
    assert customer.created_by == owner
    assert customer.user_role == "CUSTOMER"
    assert customer.is_verified is False
    passwords = set(User.objects.filter(import_job=job).values_list("password", flat=True))
    assert len(passwords) == 3
    assert customer.user_type == "INDIVIDUAL"
    assert customer.accessible_warehouses == []


def test_a_crash_at_a_batch_boundary_resumes_with_nothing_lost_or_doubled(owner, monkeypatch):
    job = queue(preview(owner, records(35)))
    crash_on_call(monkeypatch, "_run_batch", 3)

    with pytest.raises(Crash):
        run(job, worker="first")

    job.refresh_from_db()
    assert job.status == ImportJob.Status.RUNNING
    assert job.checkpoint == 20
    assert len(imported(job)) == 20
    monkeypatch.undo()
    make_stale(job)

    assert run(job, worker="second") == "complete"

    job.refresh_from_db()
    assert job.created_count == 35
    assert imported(job) == list(range(2, 37))
    assert job.attempts == 2


def test_a_crash_in_the_middle_of_a_batch_rolls_that_batch_back_and_resumes(owner, monkeypatch):
    job = queue(preview(owner, records(35)))
    # The second batch dies after its checkpoint moved and its customers were inserted, before
    # it committed.
    crash_on_call(monkeypatch, "_invite_after_commit", 2)

    with pytest.raises(Crash):
        run(job, worker="first")

    job.refresh_from_db()
    assert job.checkpoint == 10
    assert len(imported(job)) == 10
    monkeypatch.undo()
    make_stale(job)

    run(job, worker="second")

    job.refresh_from_db()
    assert job.created_count == 35
    assert imported(job) == list(range(2, 37))


def test_progress_never_goes_back_across_a_crash(owner, monkeypatch):
    job = queue(preview(owner, records(45)))
    seen: list[tuple[int, int]] = []
    original_batch = runner._run_batch

    def recording(*args, **kwargs):
        result = original_batch(*args, **kwargs)
        seen.append(ImportJob.objects.values_list("checkpoint", "created_count").get(pk=job.pk))
        return result

    monkeypatch.setattr(runner, "_run_batch", recording)
    crash_on_call(monkeypatch, "_run_batch", 3)
    with pytest.raises(Crash):
        run(job, worker="first")
    monkeypatch.setattr(runner, "_run_batch", recording)
    make_stale(job)

    run(job, worker="second")

    assert seen == sorted(seen)
    assert seen[-1] == (45, 45)


def test_a_fresh_job_cannot_be_taken_by_a_second_worker(owner):
    job = queue(preview(owner, records(5)))
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.RUNNING, worker_id="first", heartbeat_at=timezone.now()
    )

    assert run(job, worker="second") == "not_claimed"
    assert imported(job) == []


def test_a_worker_that_lost_its_claim_stops_at_the_next_batch(owner, monkeypatch):
    job = queue(preview(owner, records(35)))
    original = runner._run_batch
    calls = {"n": 0}

    def steal_after_first(*args, **kwargs):
        calls["n"] += 1
        result = original(*args, **kwargs)
        if calls["n"] == 1:
            ImportJob.objects.filter(pk=job.pk).update(worker_id="thief")
        return result

    monkeypatch.setattr(runner, "_run_batch", steal_after_first)

    assert run(job, worker="first") == "lost_claim"
    assert len(imported(job)) == 10


def test_a_stop_request_releases_the_job_for_the_next_worker(owner):
    job = queue(preview(owner, records(35)))
    asked = iter([False, False, True])

    outcome = run(job, worker="first", should_stop=lambda: next(asked, True))

    job.refresh_from_db()
    assert outcome == "released"
    assert job.status == ImportJob.Status.QUEUED
    assert job.worker_id == ""
    assert job.checkpoint == 20
    assert run(job, worker="second") == "complete"
    job.refresh_from_db()
    assert job.created_count == 35
    assert imported(job) == list(range(2, 37))


def test_a_lost_database_connection_is_retried(owner, monkeypatch):
    job = queue(preview(owner, records(25)))
    monkeypatch.setattr(runner.time, "sleep", lambda seconds: None)
    original = runner._run_batch
    failures = {"left": 2}

    def flaky(*args, **kwargs):
        if failures["left"]:
            failures["left"] -= 1
            raise OperationalError("server closed the connection unexpectedly")
        return original(*args, **kwargs)

    monkeypatch.setattr(runner, "_run_batch", flaky)

    assert run(job) == "complete"
    job.refresh_from_db()
    assert job.created_count == 25


def test_an_unexpected_error_fails_the_job_with_a_message(owner, monkeypatch):
    job = queue(preview(owner, records(25)))
    original = runner.batch_plan
    calls = {"n": 0}

    def broken_on_second(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise ValueError("a bug")
        return original(*args, **kwargs)

    monkeypatch.setattr(runner, "batch_plan", broken_on_second)

    assert run(job) == "failed"

    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert "internal error" in job.message
    assert job.created_count == 10


def test_a_customer_taken_since_the_preview_fails_alone(owner):
    job = queue(preview(owner, records(25)))
    CustomerFactory(
        phone="+233" + phone(13)[1:], shipping_mark="ELSEWHERE", email="elsewhere@example.com"
    )

    run(job)

    job.refresh_from_db()
    assert job.created_count == 24
    assert job.failed_count == 1
    assert 15 not in imported(job)
    error = ImportRowError.objects.get(job=job, at_run=True)
    assert (error.row, error.field, error.code) == (15, "phone", "duplicate_existing")


def test_a_generated_mark_taken_since_the_preview_is_generated_again(owner):
    job = queue(preview(owner, [customer_record(1, shipping_mark="", first_name="Kwame")]))
    CustomerFactory(shipping_mark="PM 1 KWAME")

    run(job)

    created = User.objects.get(import_job=job)
    assert created.shipping_mark == "PM 1 KWAME02"


def test_above_the_memory_ceiling_a_job_warns_and_goes_on_in_smaller_batches(
    owner, settings, caplog
):
    settings.IMPORT_BATCH_SIZE = 200
    settings.IMPORT_MEMORY_CEILING_MB = 1
    job = queue(preview(owner, records(500)))

    assert run(job) == "complete"

    job.refresh_from_db()
    assert job.created_count == 500
    sizes = [r.args[2] for r in caplog.records if r.getMessage().startswith("[IMPORT-BATCH]")]
    assert sizes[:4] == [200, 100, 50, 50]
    assert "[IMPORT-MEMORY]" in caplog.text


def test_two_workers_racing_for_one_job_run_it_once(owner):
    import threading

    job = queue(preview(owner, records(60)))
    start = threading.Barrier(2)
    outcomes = []

    def worker(name):
        start.wait()
        try:
            outcomes.append(run(job, worker=name))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    job.refresh_from_db()
    assert sorted(outcomes) == ["complete", "not_claimed"]
    assert job.attempts == 1
    assert imported(job) == list(range(2, 62))


def test_a_batch_the_database_rejects_in_its_one_statement_is_redone_one_customer_at_a_time(
    owner, monkeypatch
):
    job = queue(preview(owner, records(25)))
    CustomerFactory(phone="+233" + phone(13)[1:], shipping_mark="ELSEWHERE", email="x@example.com")
    original = runner.insert_staged
    refused: list[int] = []

    def recording(job, *, start, end, now):
        try:
            return original(job, start=start, end=end, now=now)
        except IntegrityError:
            refused.append(end - start)
            raise

    monkeypatch.setattr(runner, "insert_staged", recording)

    run(job)

    job.refresh_from_db()
    assert refused == [10]  # the second batch, rows 12-21, holds the taken phone
    assert (job.created_count, job.failed_count, job.checkpoint) == (24, 1, 25)
    assert imported(job) == [n for n in range(2, 27) if n != 15]
    error = ImportRowError.objects.get(job=job, at_run=True)
    assert (error.row, error.code) == (15, "duplicate_existing")


def test_names_holding_the_characters_a_bulk_load_escapes_are_stored_exactly(owner):
    names = ["O\\Brien", "Back\\\\slash", "N\\t", "Ama \\N", "Kofi 'Q' \"Mensah\"", "Akọsua"]
    # Every other one without an email: NULL beside the escapes.
    rows = [
        customer_record(n, last_name=name, email="" if n % 2 else f"person{n}@example.com")
        for n, name in enumerate(names)
    ]
    job = queue(preview(owner, rows))

    run(job)

    stored = User.objects.filter(import_job=job).values_list("source_row", "last_name", "email")
    assert sorted(stored) == [
        (n + 2, name, None if n % 2 else f"person{n}@example.com") for n, name in enumerate(names)
    ]
    customer = User.objects.get(import_job=job, source_row=2)
    assert (customer.email, customer.region, customer.is_active) == (
        "person0@example.com",
        "ASHANTI",
        True,
    )


def test_batches_count_only_rows_to_write_and_end_after_the_last_row(owner):
    # given 30 rows, every third invalid, in batches of 10 rows to write
    rows = [
        customer_record(n, phone="not a phone") if n % 3 == 2 else customer_record(n)
        for n in range(30)
    ]
    job = queue(preview(owner, rows))

    # when it runs
    assert run(job) == "complete"

    # then every valid row is a customer, and the checkpoint is past the file's last row
    job.refresh_from_db()
    assert imported(job) == [n + 2 for n in range(30) if n % 3 != 2]
    assert (job.created_count, job.checkpoint) == (20, 30)


def test_after_a_large_import_postgres_knows_the_new_rows(owner, settings, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("Postgres's planner statistics")
    settings.IMPORT_BATCH_SIZE = 100
    monkeypatch.setattr(runner, "ANALYZE_AFTER_ROWS", 50)
    job = queue(preview(owner, records(60)))

    run(job)

    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'users_user'")
        assert cursor.fetchone()[0] >= 60


def test_an_import_small_beside_the_table_leaves_its_statistics_to_autovacuum(
    owner, settings, monkeypatch
):
    if connection.vendor != "postgresql":
        pytest.skip("Postgres's planner statistics")
    # given 2,000 customers the statistics know of
    settings.IMPORT_BATCH_SIZE = 100
    monkeypatch.setattr(runner, "ANALYZE_AFTER_ROWS", 50)
    User.objects.bulk_create(
        User(phone=f"+23355{n:07d}", shipping_mark=f"SEED {n}", first_name="A", last_name="B")
        for n in range(2000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE users_user")
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'users_user'")
        known = cursor.fetchone()[0]
    job = queue(preview(owner, records(60)))

    # when an import adds 60 (3 %)
    run(job)

    # then ANALYZE, whose cost grows with the table, is not run for so few
    assert ImportJob.objects.get(pk=job.pk).created_count == 60
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'users_user'")
        assert cursor.fetchone()[0] == known
