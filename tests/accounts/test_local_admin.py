"""manage.py ensure_local_admin: the local super admin `make run` creates, and a new password for
it when the printed one is lost."""

import io
import re

import pytest
from django.core.management import CommandError, call_command
from rest_framework_simplejwt.tokens import RefreshToken

from users.models import User

pytestmark = pytest.mark.django_db


def printed_password(out: str) -> str:
    return re.search(r"(?:Password:|password for \S+:) (\S+)", out).group(1)


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("ensure_local_admin", *args, stdout=out)
    return out.getvalue()


def test_the_first_run_creates_a_super_admin_and_prints_its_password_once():
    first = run()
    second = run()

    admin = User.objects.get()
    assert admin.is_superuser
    assert admin.phone == "+233200000001"
    assert admin.check_password(printed_password(first))
    assert "Password:" not in second


def test_a_new_password_replaces_the_lost_one_and_ends_the_old_sessions(api_client):
    run()
    admin = User.objects.get()
    old_refresh = str(RefreshToken.for_user(admin))

    out = run("--new-password")

    admin.refresh_from_db()
    assert admin.check_password(printed_password(out))
    response = api_client.post("/api/auth/token/refresh/", {"refresh": old_refresh}, format="json")
    assert response.status_code == 401


def test_a_new_password_needs_an_existing_super_admin():
    with pytest.raises(CommandError, match="No super admin has the phone 0200000001"):
        run("--new-password")
