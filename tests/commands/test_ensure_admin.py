"""The run command's administrator: created once, never with a default password."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_it_creates_one_administrator_with_a_random_password(capsys, monkeypatch):
    monkeypatch.delenv("PACSWEB_ADMIN_PASSWORD", raising=False)
    call_command("ensure_admin")
    out = capsys.readouterr().out
    password = re.search(r"Password: (\S+)", out).group(1)
    admin = get_user_model().objects.get(is_superuser=True)
    assert admin.check_password(password) and len(password) >= 12
    call_command("ensure_admin")
    assert "no account created" in capsys.readouterr().out
    assert get_user_model().objects.count() == 1


def test_two_installs_get_different_passwords(capsys, monkeypatch):
    monkeypatch.delenv("PACSWEB_ADMIN_PASSWORD", raising=False)
    call_command("ensure_admin")
    first = re.search(r"Password: (\S+)", capsys.readouterr().out).group(1)
    get_user_model().objects.all().delete()
    call_command("ensure_admin")
    second = re.search(r"Password: (\S+)", capsys.readouterr().out).group(1)
    assert first != second


def test_it_takes_the_password_from_the_environment(capsys, monkeypatch):
    monkeypatch.setenv("PACSWEB_ADMIN_USER", "pacsadmin")
    monkeypatch.setenv("PACSWEB_ADMIN_PASSWORD", "correct-horse-battery")
    call_command("ensure_admin")
    assert "correct-horse-battery" not in capsys.readouterr().out
    assert (
        get_user_model().objects.get(username="pacsadmin").check_password("correct-horse-battery")
    )
