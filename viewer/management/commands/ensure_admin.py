"""``manage.py ensure_admin``: create an administrator only when none exists."""

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Create a superuser if there is none, with PACSWEB_ADMIN_USER/PACSWEB_ADMIN_PASSWORD "
        "or a random password printed once."
    )

    def handle(self, **options):
        users = get_user_model()
        if users.objects.filter(is_superuser=True).exists():
            self.stdout.write("An administrator exists; no account created.")
            return
        username = os.environ.get("PACSWEB_ADMIN_USER", "admin")
        password = os.environ.get("PACSWEB_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        users.objects.create_superuser(username=username, email="", password=password)
        if os.environ.get("PACSWEB_ADMIN_PASSWORD"):
            self.stdout.write(f"Administrator '{username}' created with PACSWEB_ADMIN_PASSWORD.")
        else:
            # Printed once, here only: it is stored hashed and never shown again.
            self.stdout.write(
                self.style.WARNING(
                    f"Administrator created. User: {username}  Password: {password}\n"
                    "Write it down now: it is not stored anywhere in clear text."
                )
            )
