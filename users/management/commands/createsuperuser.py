"""python manage.py createsuperuser [--phone P] [--first-name F] [--last-name L] [--email E]
[--noinput]

A super admin, stored by users.customers.services.user_create like every other user (the phone
in any usual format, the names and email cleaned, a shipping mark generated, Django's password
validators applied). Without --noinput it asks for what the options did not give; with it, the
values come from the options or from DJANGO_SUPERUSER_PHONE, DJANGO_SUPERUSER_FIRST_NAME,
DJANGO_SUPERUSER_LAST_NAME, DJANGO_SUPERUSER_EMAIL and DJANGO_SUPERUSER_PASSWORD (Django's names).
This command takes the place of django.contrib.auth's, whose manager call would skip the rules.
"""

import getpass
import os

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from users.customers.services import user_create
from users.management.output import validation_text
from users.models import Role, User

FIELDS = ("phone", "first_name", "last_name", "email")
REQUIRED = ("phone", "first_name", "last_name")


class Command(BaseCommand):
    help = "Create a super admin (signs in to the admin and the API with the phone number)."

    def add_arguments(self, parser):
        parser.add_argument("--phone", help="Phone number, any usual format (0241234567).")
        parser.add_argument("--first-name")
        parser.add_argument("--last-name")
        parser.add_argument("--email", help="Optional.")
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help="Ask nothing: take the values from the options and DJANGO_SUPERUSER_* variables.",
        )

    def handle(self, *args, interactive: bool, **options):
        values = {
            field: options.get(field) or os.environ.get(f"DJANGO_SUPERUSER_{field.upper()}") or ""
            for field in FIELDS
        }
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD", "")
        if interactive:
            for field in FIELDS:
                if not values[field]:
                    values[field] = self._ask(field)
            if not password:
                password = self._ask_password(values)
        else:
            missing = [f for f in REQUIRED if not values[f]]
            if missing or not password:
                names = [f"--{f.replace('_', '-')}" for f in missing]
                if not password:
                    names.append("DJANGO_SUPERUSER_PASSWORD")
                raise CommandError(f"With --noinput, give {', '.join(names)}.")
            self._check_password(password, values)
        try:
            user = user_create(
                password=password,
                user_role=Role.SUPER_ADMIN,
                is_staff=True,
                is_superuser=True,
                is_verified=True,
                **values,
            )
        except ValidationError as error:
            raise CommandError(validation_text(error)) from None
        self.stdout.write(f"Super admin created: {user.phone}.")

    def _ask(self, field: str) -> str:
        label = field.replace("_", " ").capitalize()
        optional = field not in REQUIRED
        while True:
            value = input(f"{label}{' (optional)' if optional else ''}: ").strip()
            if value or optional:
                return value
            self.stderr.write(f"{label} is required.")

    def _ask_password(self, values: dict) -> str:
        while True:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                self.stderr.write("The two passwords differ.")
                continue
            try:
                self._check_password(password, values)
            except CommandError as error:
                self.stderr.write(str(error))
                continue
            return password

    def _check_password(self, password: str, values: dict) -> None:
        try:
            validate_password(password, User(**{k: v for k, v in values.items() if v}))
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
