"""Settings read from the environment fail loudly on bad values."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from pacsweb.env import env_bool, env_int, env_list, env_secret


def test_it_reads_booleans(monkeypatch):
    monkeypatch.setenv("X_FLAG", "Yes")
    assert env_bool("X_FLAG") is True
    monkeypatch.setenv("X_FLAG", "0")
    assert env_bool("X_FLAG", True) is False


def test_it_refuses_a_word_that_is_not_a_boolean(monkeypatch):
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG"):
        env_bool("X_FLAG")


def test_it_refuses_a_non_integer(monkeypatch):
    monkeypatch.setenv("X_PORT", "eleven")
    with pytest.raises(ImproperlyConfigured, match="X_PORT"):
        env_int("X_PORT", 1)


def test_it_splits_lists(monkeypatch):
    monkeypatch.setenv("X_HOSTS", " a.example, b.example ,,")
    assert env_list("X_HOSTS", []) == ["a.example", "b.example"]


def test_a_generated_secret_is_kept_and_private(tmp_path, monkeypatch):
    monkeypatch.delenv("X_SECRET", raising=False)
    first = env_secret("X_SECRET", tmp_path / "secret")
    assert env_secret("X_SECRET", tmp_path / "secret") == first and len(first) > 40
    assert (tmp_path / "secret").stat().st_mode & 0o077 == 0


def test_a_secret_from_a_file(tmp_path, monkeypatch):
    (tmp_path / "s").write_text("from-file\n")
    monkeypatch.setenv("X_SECRET_FILE", str(tmp_path / "s"))
    assert env_secret("X_SECRET", tmp_path / "unused") == "from-file"


def test_debug_is_off_by_default():
    from django.conf import settings

    assert settings.DEBUG is False


def test_the_sqlite_default_runs_in_wal_mode(tmp_path, django_db_blocker):
    from django.db.utils import ConnectionHandler

    from pacsweb.settings import _database

    handler = ConnectionHandler({"default": _database(f"sqlite:///{tmp_path / 'db.sqlite3'}")})
    connection = handler["default"]
    try:
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode")
            assert cursor.fetchone()[0] == "wal"
            cursor.execute("PRAGMA synchronous")
            assert cursor.fetchone()[0] == 1  # NORMAL: safe with WAL, far fewer fsyncs
    finally:
        connection.close()


def test_two_processes_share_one_generated_secret(tmp_path, monkeypatch):
    import subprocess
    import sys

    monkeypatch.delenv("X_SECRET", raising=False)
    code = (
        "import sys; sys.path.insert(0, '.'); from pathlib import Path; "
        "from pacsweb.env import env_secret; "
        f"print(env_secret('X_SECRET', Path({str(tmp_path / 'secret')!r})))"
    )
    runs = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    secrets = {run.communicate()[0].strip() for run in runs}
    assert len(secrets) == 1 and len(secrets.pop()) > 40


def test_sqlite_connections_are_kept_and_postgresql_ones_only_when_asked(monkeypatch):
    # Opening a SQLite connection was half a frame request's time; on PostgreSQL each
    # kept connection is a server process per thread, so that stays the deployment's call.
    from pacsweb.settings import _database

    monkeypatch.delenv("PACSWEB_DB_CONN_MAX_AGE", raising=False)
    sqlite = _database("sqlite:////tmp/x.sqlite3")
    postgres = _database("postgres://u@127.0.0.1:5432/db")
    assert sqlite["CONN_MAX_AGE"] > 0 and sqlite["CONN_HEALTH_CHECKS"] is True
    assert postgres["CONN_MAX_AGE"] == 0 and postgres["CONN_HEALTH_CHECKS"] is False
    monkeypatch.setenv("PACSWEB_DB_CONN_MAX_AGE", "60")
    postgres = _database("postgres://u@127.0.0.1:5432/db")
    assert postgres["CONN_MAX_AGE"] == 60 and postgres["CONN_HEALTH_CHECKS"] is True
    monkeypatch.setenv("PACSWEB_DB_CONN_MAX_AGE", "0")
    assert _database("sqlite:////tmp/x.sqlite3")["CONN_MAX_AGE"] == 0
