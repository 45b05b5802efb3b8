"""import_customers --mode update --match email, and undo_import, from the command line."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.excel import builders
from tests.factories import CustomerFactory, StaffFactory
from users.models import ImportJob, User

pytestmark = pytest.mark.django_db(transaction=True)


def call(name: str, *args) -> str:
    out = StringIO()
    call_command(name, *args, stdout=out)
    return out.getvalue()


def test_an_update_by_email_then_its_undo(tmp_path):
    admin = StaffFactory()
    kwame = CustomerFactory(email="kwame@example.com", last_name="Mensah")
    path = tmp_path / "update.xlsx"
    path.write_bytes(
        builders.xlsx_bytes(
            [
                ["Email", "Last Name", "First Name", "Phone"],
                ["KWAME@example.com", "Asante", "", ""],
                ["ama@example.com", "Owusu", "Ama", "0551234567"],
            ]
        )
    )

    output = call(
        "import_customers", str(path), "--mode", "update", "--match", "email", "--as", admin.phone
    )

    assert "1 to update, 0 unchanged, 1 to create" in output
    assert f"customer #{kwame.pk}): last_name: 'Mensah' -> 'Asante'" in output
    assert "Created 1 of 1 customers; updated 1 of 1." in output
    kwame.refresh_from_db()
    assert kwame.last_name == "Asante"
    job = ImportJob.objects.get()

    output = call("undo_import", str(job.pk), "--as", admin.phone)

    assert "Deleted 1 of 1 customers created and restored 1 of 1 updated." in output
    assert "2/2 100%" in output
    kwame.refresh_from_db()
    assert kwame.last_name == "Mensah"
    assert not User.objects.filter(phone="+233551234567").exists()


def test_undo_of_an_import_someone_else_may_not_see_is_refused():
    owner, other = StaffFactory(), StaffFactory()
    job = ImportJob.objects.create(owner=owner, status=ImportJob.Status.COMPLETE)

    with pytest.raises(CommandError, match="not_found"):
        call("undo_import", str(job.pk), "--as", other.phone)
