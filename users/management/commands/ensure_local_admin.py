"""Creates a local super admin the first time `make run` starts, and prints its password once."""

import secrets

from django.core.management.base import BaseCommand

from users.models import User
from users.services import user_create


class Command(BaseCommand):
    help = "Create a local super admin if none exists (prints its password once)."

    def add_arguments(self, parser):
        parser.add_argument("--phone", default="0200000001")

    def handle(self, *args, phone: str, **options):
        if User.objects.filter(is_superuser=True).exists():
            self.stdout.write("A super admin exists already; its password was printed when made.")
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
                "This password is shown once. Sign in at /admin/ or POST /api/auth/login/."
            )
        )
