"""Emails stored before email_unproven existed are marked as their holders left them: unproven
when the holder chose them (at sign-up, or in their own last change of it), proven when staff
set them."""

import pytest
from django.core.management.color import no_style
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from users.models import User

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = ("users", "0013_sign_in_links")
AFTER = ("users", "0014_user_email_unproven")


def migrate(*targets):
    executor = MigrationExecutor(connection)
    executor.migrate(list(targets))
    return executor.loader.project_state(list(targets)).apps


def test_emails_chosen_by_their_holders_are_marked_unproven():
    # Given users stored before the field: one signed up with an email, one signed up and then
    # had it set by staff, one changed it themselves, one was given it by staff, and the staff
    # member, who has none
    apps = migrate(BEFORE)
    user_model = apps.get_model("users", "User")
    change_model = apps.get_model("users", "CustomerChange")
    password_model = apps.get_model("users", "PasswordChange")
    users = {
        name: user_model.objects.create(
            pk=pk,
            phone=f"+23324100{pk:04d}",
            first_name="Ama",
            last_name="Owusu",
            shipping_mark=f"PM STORED {pk}",
            email=None if name == "editor" else f"{name}@example.com",
            password="!",
        )
        for pk, name in enumerate(["signup", "signup_then_staff", "own", "staff", "editor"], 1)
    }
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), [user_model]):
            cursor.execute(sql)
    staff = users["editor"]
    for name in ("signup", "signup_then_staff"):
        password_model.objects.create(user=users[name], kind="SIGNUP")
    edits = [("signup_then_staff", staff), ("own", users["own"]), ("staff", staff)]
    for name, by in edits:
        change_model.objects.create(
            customer=users[name], source="edit", changed_by=by, fields={"email": {}}
        )

    # When the migration runs (and every later one)
    migrate(AFTER)
    migrate(*MigrationExecutor(connection).loader.graph.leaf_nodes())

    # Then only the emails the holders chose are unproven
    unproven = dict(User.objects.values_list("email", "email_unproven"))
    assert unproven == {
        "signup@example.com": True,
        "signup_then_staff@example.com": False,
        "own@example.com": True,
        "staff@example.com": False,
        None: False,
    }
