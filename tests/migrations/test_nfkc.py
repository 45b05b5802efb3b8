"""Stored names, marks and emails written under the NFC rules are rewritten in NFKC, so that
what is stored still matches what the rules now make of the same text."""

import pytest
from django.core.management.color import no_style
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.factories import StaffFactory
from tests.imports import helpers
from tests.unicode import full_width
from users.models import User

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = ("users", "0006_row_error_position_and_list_index")
AFTER = ("users", "0007_nfkc_names_marks_and_emails")


def migrate(*targets):
    executor = MigrationExecutor(connection)
    executor.migrate(list(targets))
    return executor.loader.project_state(list(targets)).apps


def migrate_to_latest():
    migrate(*MigrationExecutor(connection).loader.graph.leaf_nodes())


def run_the_migration() -> None:
    """The NFKC migration, then every later one, so today's models read the result."""
    migrate(AFTER)
    migrate_to_latest()


@pytest.fixture
def stored_under_nfc():
    """The database at 0006 with a few users stored as the NFC rules stored them; the database
    is at the latest migration again afterwards."""
    historical = migrate(BEFORE).get_model("users", "User")

    def add(pk: int, **values) -> None:
        historical.objects.create(
            pk=pk,
            phone=f"+23324100{pk:04d}",
            first_name=values.pop("first_name", "Ama"),
            last_name=values.pop("last_name", "Owusu"),
            shipping_mark=values.pop("shipping_mark", f"PM STORED {pk}"),
            password="!",
            **values,
        )
        # The rows were given their ids: move the id sequence past them (Postgres), so that
        # users created afterwards by the code under test get ids of their own.
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), [historical]):
                cursor.execute(sql)

    yield add
    migrate_to_latest()


def test_full_width_values_are_stored_in_their_plain_form(stored_under_nfc):
    # given a customer stored with full-width and ligature text, as NFC left it
    stored_under_nfc(
        1,
        shipping_mark=full_width("KWAME PM"),
        first_name=full_width("Kwame"),
        last_name="Ra\ufb00a",
        nickname=full_width("Koko"),
        company_name=full_width("Prime\u3000Trading"),
        email=full_width("kwame@example.com"),
    )

    # when the migration runs
    run_the_migration()

    # then every value is what the rules make of it now
    user = User.objects.get(pk=1)
    assert user.shipping_mark == "KWAME PM"
    assert (user.first_name, user.last_name, user.nickname) == ("Kwame", "Raffa", "Koko")
    assert user.company_name == "Prime Trading"
    assert user.email == "kwame@example.com"


def test_a_stored_full_width_mark_still_matches_the_same_mark_typed_again(stored_under_nfc):
    # given a customer whose mark was stored full-width
    stored_under_nfc(1, shipping_mark=full_width("KWAME PM"))
    run_the_migration()

    # when an import brings the same mark in plain letters, for another phone
    job = helpers.preview(StaffFactory(), [helpers.customer_record(9, shipping_mark="KWAME PM")])

    # then it is that customer's mark: an existing duplicate, not a second KWAME PM
    assert job.existing_duplicate_count == 1
    assert job.to_create_count == 0


def test_a_value_whose_plain_form_is_taken_keeps_its_stored_form(stored_under_nfc):
    # given KWAME PM stored, and later its full-width twin (NFC kept them apart)
    stored_under_nfc(1, shipping_mark="KWAME PM", email="kwame@example.com")
    stored_under_nfc(2, shipping_mark=full_width("KWAME PM"), email=full_width("kwame@example.com"))

    # when the migration runs
    run_the_migration()

    # then the first keeps its values, and the twin keeps its own (two customers cannot hold one
    # mark; staff choose a new one, the migration logs its id)
    assert User.objects.get(pk=1).shipping_mark == "KWAME PM"
    twin = User.objects.get(pk=2)
    assert twin.shipping_mark == full_width("KWAME PM")
    assert twin.email == full_width("kwame@example.com")
    # and a new row with either spelling is a duplicate of the first
    rows = [helpers.customer_record(9, shipping_mark=full_width("KWAME PM"), email="")]
    assert helpers.preview(StaffFactory(), rows).existing_duplicate_count == 1


def test_a_value_that_would_grow_past_its_column_keeps_its_stored_form(stored_under_nfc):
    # U+FDFA is one character that NFKC spells out in 18
    stored_under_nfc(1, first_name="A" * 40 + "\ufdfa")

    run_the_migration()

    assert User.objects.get(pk=1).first_name == "A" * 40 + "\ufdfa"


def test_ascii_values_are_left_as_they_are(stored_under_nfc):
    stored_under_nfc(1, shipping_mark="PM 1 KWAME", first_name="Kwame", email="k@example.com")

    run_the_migration()

    user = User.objects.get(pk=1)
    assert (user.shipping_mark, user.first_name, user.email) == (
        "PM 1 KWAME",
        "Kwame",
        "k@example.com",
    )
