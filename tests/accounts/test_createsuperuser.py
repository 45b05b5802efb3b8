"""manage.py createsuperuser: the project's own, storing the admin through the same service as
every other user."""

import io

import pytest
from django.core.management import CommandError, call_command

from tests.factories import CustomerFactory
from users.models import Role, User

pytestmark = pytest.mark.django_db


def test_without_input_it_takes_the_options_and_the_password_from_the_environment(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "Quiet-harbour-2291")
    out = io.StringIO()

    call_command(
        "createsuperuser",
        "--noinput",
        phone="024 123 4567",
        first_name="Ama",
        last_name="Owusu",
        stdout=out,
    )

    admin = User.objects.get()
    assert admin.phone == "+233241234567"
    assert (admin.user_role, admin.is_superuser, admin.is_staff) == (Role.SUPER_ADMIN, True, True)
    assert admin.is_verified is True
    assert admin.shipping_mark == "PM 1 AMA"
    assert admin.check_password("Quiet-harbour-2291")
    assert "+233241234567" in out.getvalue()


def test_it_asks_for_what_the_options_did_not_give(monkeypatch):
    answers = iter(["0241234567", "Kofi", "Mensah", ""])
    passwords = iter(["short", "short", "Quiet-harbour-2291", "Quiet-harbour-2291"])
    monkeypatch.setattr("builtins.input", lambda prompt: next(answers))
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(passwords))
    err = io.StringIO()

    call_command("createsuperuser", stdout=io.StringIO(), stderr=err)

    admin = User.objects.get()
    assert (admin.first_name, admin.email) == ("Kofi", None)
    assert admin.check_password("Quiet-harbour-2291")
    assert "too short" in err.getvalue()


def test_a_phone_already_registered_is_refused_with_the_rule_s_message(monkeypatch):
    CustomerFactory(phone="+233241234567")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "Quiet-harbour-2291")

    with pytest.raises(CommandError, match="--phone: A customer with this phone number already"):
        call_command(
            "createsuperuser", "--noinput", phone="0241234567", first_name="A", last_name="B"
        )
    assert User.objects.count() == 1


def test_without_input_a_missing_value_is_named(monkeypatch):
    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)

    with pytest.raises(CommandError, match="--last-name, DJANGO_SUPERUSER_PASSWORD"):
        call_command("createsuperuser", "--noinput", phone="0241234567", first_name="A")
