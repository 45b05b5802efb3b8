"""python manage.py import_customers: the same pipeline from the command line; prune_imports;
and the worker's watchdog."""

import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, ManagementUtility, call_command
from django.core.management.base import BaseCommand
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from tests.excel import builders
from tests.factories import StaffFactory
from tests.imports.helpers import preview, queue, records
from users.accounts import tasks as account_tasks
from users.imports import tasks
from users.management.commands import run_worker
from users.models import ImportJob, User

pytestmark = pytest.mark.django_db(transaction=True)

HEADER = ["Shipping Mark", "First Name", "Last Name", "Email", "Phone Number"]


@pytest.fixture
def workbook(tmp_path):
    path = tmp_path / "customers.xlsx"
    path.write_bytes(
        builders.xlsx_bytes(
            [
                HEADER,
                ["PM A", "Kwame", "Mensah", "", "0241234567"],
                ["PM B", "Ama", "Owusu", "", "12"],
            ]
        )
    )
    return path


def run(*args) -> str:
    out = StringIO()
    call_command("import_customers", *args, stdout=out)
    return out.getvalue()


def test_a_dry_run_prints_the_preview_and_creates_nothing(workbook):
    admin = StaffFactory()

    output = run(str(workbook), "--dry-run", "--as", admin.phone)

    assert "2 rows read: 1 to create, 1 invalid" in output
    assert "Row 3: Phone: Not a valid phone number" in output
    assert User.objects.filter(import_job__isnull=False).count() == 0
    assert ImportJob.objects.count() == 0


def test_an_import_creates_the_valid_rows_and_shows_progress(workbook):
    admin = StaffFactory()

    output = run(str(workbook), "--as", admin.phone)

    assert "] 1/1 100%" in output
    assert "Created 1 of 1 customers" in output
    assert User.objects.get(import_job__owner=admin).phone == "+233241234567"


def test_map_chooses_the_column_of_a_field_by_header_text_or_letter(tmp_path):
    admin = StaffFactory()
    path = tmp_path / "mobiles.xlsx"
    path.write_bytes(
        builders.xlsx_bytes(
            [
                ["Client", "Given", "Family", "Mobile No.", "Notes"],
                ["PM A", "Kwame", "Mensah", "0241234567", "Kojo"],
            ]
        )
    )

    output = run(
        str(path),
        "--as",
        admin.phone,
        "--map",
        "phone=Mobile No.",
        "--map",
        "first_name=B",
        "--map",
        "last_name=Family",
        "--map",
        "nickname=E",
    )

    assert "phone <- 'Mobile No.'" in output
    kwame = User.objects.get(phone="+233241234567")
    assert (kwame.first_name, kwame.last_name, kwame.nickname) == ("Kwame", "Mensah", "Kojo")


def test_map_naming_an_unknown_field_is_a_command_error_listing_the_fields(workbook):
    admin = StaffFactory()

    with pytest.raises(CommandError, match=r"invalid_column_mapping.*Fields: shipping_mark"):
        run(str(workbook), "--as", admin.phone, "--map", "mobile=E")


def test_map_without_an_equals_sign_is_a_command_error(workbook):
    admin = StaffFactory()

    with pytest.raises(CommandError, match="FIELD=COLUMN"):
        run(str(workbook), "--as", admin.phone, "--map", "phone")


def test_a_missing_file_is_a_command_error(tmp_path):
    StaffFactory(is_superuser=True)

    with pytest.raises(CommandError, match="No such file"):
        run(str(tmp_path / "nope.xlsx"))


def test_a_file_that_is_not_a_spreadsheet_is_a_command_error(tmp_path):
    admin = StaffFactory()
    path = tmp_path / "notes.pdf"
    path.write_bytes(b"%PDF-1.4\n" + b"x" * 100)

    with pytest.raises(CommandError, match="unsupported_file_type"):
        run(str(path), "--as", admin.phone)


def test_only_staff_can_be_named_as_the_importer(workbook):
    customer = StaffFactory(user_role="CUSTOMER")

    with pytest.raises(CommandError, match="No staff user"):
        run(str(workbook), "--as", customer.phone)


def test_prune_imports_deletes_an_old_preview_and_says_so(settings):
    settings.IMPORT_KEEP_PREVIEWS_HOURS = 1
    job = preview(StaffFactory(), records(2))
    ImportJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(hours=2))
    out = StringIO()

    call_command("prune_imports", stdout=out)

    assert not ImportJob.objects.filter(pk=job.pk).exists()
    assert out.getvalue().strip() == "Deleted 1 previews; deleted the rows of 0 imports."


def test_the_workers_watchdog_queues_again_a_job_whose_worker_went_quiet(settings, monkeypatch):
    job = queue(preview(StaffFactory(), records(2)))
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.RUNNING,
        worker_id="gone",
        heartbeat_at=timezone.now() - timedelta(hours=1),
    )
    stop = threading.Event()
    queued = []
    monkeypatch.setattr(tasks, "_enqueue", lambda job_id: (queued.append(job_id), stop.set()))

    run_worker.watchdog(stop, 0.01)

    job.refresh_from_db()
    assert job.status == ImportJob.Status.QUEUED
    assert queued == [job.pk]


def test_the_watchdogs_prune_deletes_task_results_finished_over_a_day_ago(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    results = [
        account_tasks.registered_details_notice_task.enqueue(phone="+233245551234")
        for _ in range(3)
    ]
    old, recent, waiting = (DBTaskResult.objects.get(pk=result.id) for result in results)
    now = timezone.now()
    for row, finished in ((old, now - timedelta(days=2)), (recent, now - timedelta(hours=1))):
        DBTaskResult.objects.filter(pk=row.pk).update(
            status=TaskResultStatus.SUCCESSFUL, finished_at=finished
        )

    run_worker.prune_task_results()

    assert set(DBTaskResult.objects.values_list("pk", flat=True)) == {recent.pk, waiting.pk}


def test_the_worker_starts_without_the_system_checks_that_import_every_view(settings, monkeypatch):
    # given the system checks, which import the URLconf and every view the worker never serves
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    checked = []
    monkeypatch.setattr(BaseCommand, "check", lambda self, *args, **kwargs: checked.append(1))

    # when the worker starts as bin/start starts it, and finds nothing queued
    ManagementUtility(["manage.py", "run_worker", "--batch", "--interval", "0"]).execute()

    # then no check ran
    assert checked == []
