"""Creates a local super admin the first time `make run` starts, and prints its password once;
with --new-password, gives that admin a new password (printed once) when the first is lost."""

import secrets

from django.core.management.base import BaseCommand, CommandError

from users.accounts import selectors
from users.credentials import services as credentials
from users.customers.services import user_create
from users.models import PasswordChange, User

SIGN_IN = "Sign in at /admin/ or POST /api/auth/login/."


class Command(BaseCommand):
    help = "Create a local super admin if none exists (prints its password once)."

    def add_arguments(self, parser):
        parser.add_argument("--phone", default="0200000001")
        parser.add_argument(
            "--new-password",
            action="store_true",
            help="Give the super admin with this phone a new password (its sessions end).",
        )

    def handle(self, *args, phone: str, new_password: bool, **options):
        if new_password:
            self._new_password(phone)
            return
        if User.objects.filter(is_superuser=True).exists():
            self.stdout.write(
                "A super admin exists already; its password was printed when made "
                "(`make admin-password` gives it a new one)."
            )
            return
        password = secrets.token_urlsafe(12)
        admin = user_create(
            phone=phone,
            password=password,
            first_name="Local",
            last_name="Admin",
            user_role="SUPER_ADMIN",
            is_staff=True,
            is_superuser=True,
            is_verified=True,
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Local super admin created. Phone: {admin.phone}  Password: {password}\n"
                f"This password is shown once. {SIGN_IN}"
            )
        )

    def _new_password(self, phone: str) -> None:
        admin = selectors.user_find_by_identifier(identifier=phone)
        if admin is None or not admin.is_superuser:
            raise CommandError(f"No super admin has the phone {phone}; give it with --phone.")
        password = secrets.token_urlsafe(12)
        credentials.password_store(
            user=admin, password=password, set_by=None, kind=PasswordChange.Kind.COMMAND
        )
        self.stdout.write(
            self.style.SUCCESS(f"New password for {admin.phone}: {password}\nShown once. {SIGN_IN}")
        )
