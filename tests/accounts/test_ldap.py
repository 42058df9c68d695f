"""Sign-in against LDAP / Active Directory (django-auth-ldap) through the real login page,
against a real slapd: directory users, group-mapped flags, failures, and local accounts."""

import logging
import os
import socket
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured

from pacsweb.sso_ldap import LDAP_BACKEND, ldap_settings
from tests.accounts import slapd
from tests.base import free_port
from viewer.accounts.models import ExternalAccount
from viewer.audit.models import AuditEvent

WARD_PC = "10.1.2.3"
FORM_ERROR = "did not match"


@pytest.fixture(scope="module")
def directory(tmp_path_factory):
    """One slapd for the module; tests that change its groups put them back."""
    running = slapd.start_directory(tmp_path_factory.mktemp("slapd"))
    yield running
    running.stop()


def configure(settings, monkeypatch, uri: str, **env: str) -> None:
    """Turn LDAP on as settings.py does, from PACSWEB_LDAP_* variables."""
    variables = {
        "PACSWEB_LDAP_URI": uri,
        "PACSWEB_LDAP_BIND_DN": slapd.READER_DN,
        "PACSWEB_LDAP_BIND_PASSWORD": slapd.READER_PASSWORD,
        "PACSWEB_LDAP_USER_SEARCH_BASE": slapd.PEOPLE,
        "PACSWEB_LDAP_GROUP_SEARCH_BASE": slapd.GROUPS,
        "PACSWEB_LDAP_STAFF_GROUP": slapd.STAFF_GROUP,
        "PACSWEB_LDAP_ADMIN_GROUP": slapd.ADMIN_GROUP,
        "PACSWEB_LDAP_TIMEOUT_SECONDS": "2",
        **env,
    }
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    for name, value in ldap_settings().items():
        setattr(settings, name, value)
    backends = list(django_settings.AUTHENTICATION_BACKENDS)
    backends.insert(1, LDAP_BACKEND)
    settings.AUTHENTICATION_BACKENDS = backends


@pytest.fixture
def ldap_site(db, directory, settings, monkeypatch):
    """PACSweb configured for the test directory, with staff and administrator groups."""
    configure(settings, monkeypatch, directory.uri)
    return directory


def sign_in(client, username: str, password: str):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=WARD_PC)


def password_of(uid: str) -> str:
    return slapd.PEOPLE_ENTRIES[uid][2]


def signed_in_as(client) -> str | None:
    user_id = client.session.get("_auth_user_id")
    return get_user_model().objects.get(pk=user_id).username if user_id else None


def test_it_signs_in_a_directory_user_with_their_names_and_email(client, ldap_site):
    response = sign_in(client, "wangfang", password_of("wangfang"))
    assert response.status_code == 302 and signed_in_as(client) == "wangfang"
    user = get_user_model().objects.get(username="wangfang")
    assert (user.first_name, user.last_name, user.email) == (
        "芳",
        "王",
        "wangfang@hospital.example",
    )
    assert not user.has_usable_password(), "the password stays in the directory"
    assert not user.is_staff and not user.is_superuser
    login = AuditEvent.objects.get(event=AuditEvent.LOGIN)
    assert (login.username, login.user, login.remote_address) == ("wangfang", user, WARD_PC)


def test_it_opens_the_study_list_to_a_directory_user(client, ldap_site):
    sign_in(client, "wangfang", password_of("wangfang"))
    assert client.get("/").status_code == 200


def test_a_member_of_the_staff_group_is_staff(client, ldap_site):
    sign_in(client, "lina", password_of("lina"))
    user = get_user_model().objects.get(username="lina")
    assert user.is_staff and not user.is_superuser


def test_a_member_of_the_admin_group_is_superuser_and_staff(client, ldap_site):
    sign_in(client, "zhaolei", password_of("zhaolei"))
    user = get_user_model().objects.get(username="zhaolei")
    assert user.is_staff and user.is_superuser
    assert client.get("/admin/").status_code == 200


def test_leaving_the_group_drops_the_flag_at_the_next_sign_in(client, ldap_site):
    sign_in(client, "lina", password_of("lina"))
    assert get_user_model().objects.get(username="lina").is_staff
    client.logout()
    ldap_site.remove_member(slapd.STAFF_GROUP, slapd.person_dn("lina"))
    try:
        sign_in(client, "lina", password_of("lina"))
    finally:
        ldap_site.add_member(slapd.STAFF_GROUP, slapd.person_dn("lina"))
    assert signed_in_as(client) == "lina"
    assert not get_user_model().objects.get(username="lina").is_staff


def test_joining_the_admin_group_grants_superuser_at_the_next_sign_in(client, ldap_site):
    sign_in(client, "wangfang", password_of("wangfang"))
    client.logout()
    ldap_site.add_member(slapd.ADMIN_GROUP, slapd.person_dn("wangfang"))
    try:
        sign_in(client, "wangfang", password_of("wangfang"))
    finally:
        ldap_site.remove_member(slapd.ADMIN_GROUP, slapd.person_dn("wangfang"))
    user = get_user_model().objects.get(username="wangfang")
    assert user.is_superuser and user.is_staff


def test_nested_groups_count_when_the_group_type_is_nested(
    client, db, directory, settings, monkeypatch
):
    # chenjie is in IT, and IT is a member of the administrators' group.
    configure(settings, monkeypatch, directory.uri, PACSWEB_LDAP_GROUP_TYPE="nestedGroupOfNames")
    sign_in(client, "chenjie", password_of("chenjie"))
    assert get_user_model().objects.get(username="chenjie").is_superuser


def test_nested_groups_do_not_count_with_plain_group_of_names(client, ldap_site):
    sign_in(client, "chenjie", password_of("chenjie"))
    assert signed_in_as(client) == "chenjie"
    assert not get_user_model().objects.get(username="chenjie").is_superuser


def test_a_required_group_keeps_everyone_else_out(client, db, directory, settings, monkeypatch):
    configure(
        settings, monkeypatch, directory.uri, PACSWEB_LDAP_REQUIRE_GROUP=slapd.RADIOLOGY_GROUP
    )
    response = sign_in(client, "zhaolei", password_of("zhaolei"))
    assert FORM_ERROR in response.content.decode() and signed_in_as(client) is None
    sign_in(client, "wangfang", password_of("wangfang"))
    assert signed_in_as(client) == "wangfang"


def test_a_wrong_directory_password_gets_the_form_error_and_is_audited(client, ldap_site):
    response = sign_in(client, "wangfang", "not-her-password")
    assert response.status_code == 200 and FORM_ERROR in response.content.decode()
    assert signed_in_as(client) is None
    failed = AuditEvent.objects.get(event=AuditEvent.LOGIN_FAILED)
    assert (failed.username, failed.outcome) == ("wangfang", AuditEvent.FAILURE)


def test_wrong_directory_passwords_are_throttled(client, ldap_site):
    for _ in range(django_settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, "wangfang", "not-her-password").status_code == 200
    assert sign_in(client, "wangfang", "not-her-password").status_code == 429
    response = sign_in(client, "wangfang", password_of("wangfang"))
    assert response.status_code == 429 and signed_in_as(client) is None


def test_a_user_name_with_filter_characters_matches_nobody(client, ldap_site):
    for username in ("*", "wang*", "wangfang)(uid=*"):
        response = sign_in(client, username, password_of("wangfang"))
        assert FORM_ERROR in response.content.decode() and signed_in_as(client) is None
    assert not get_user_model().objects.exists()


def test_a_local_account_still_signs_in(client, ldap_site, alice):
    sign_in(client, "alice", "alice-secret-pw")
    assert signed_in_as(client) == "alice"


def test_the_directory_does_not_take_over_a_local_account_of_the_same_name(client, ldap_site):
    local = get_user_model().objects.create_superuser("lina", password="local-lina-pw")
    response = sign_in(client, "lina", password_of("lina"))
    assert FORM_ERROR in response.content.decode() and signed_in_as(client) is None
    sign_in(client, "lina", "local-lina-pw")
    assert signed_in_as(client) == "lina"
    local.refresh_from_db()
    assert local.is_superuser and local.first_name == "", "flags and names stay local"


def test_a_directory_user_is_bound_to_their_entry(client, ldap_site):
    sign_in(client, "wangfang", password_of("wangfang"))
    client.logout()
    sign_in(client, "WangFang", password_of("wangfang"))
    assert signed_in_as(client) == "wangfang"
    [binding] = ExternalAccount.objects.all()
    assert (binding.user.username, binding.source, binding.subject) == (
        "wangfang",
        "ldap",
        slapd.person_dn("wangfang").lower(),
    )


def test_the_entry_signs_into_its_own_account_whatever_its_name_now(client, ldap_site):
    # Renamed in PACSweb (or the directory's uid changed and the DN did not).
    user = get_user_model().objects.create_user("fang.wang")
    user.set_unusable_password()
    user.save()
    ExternalAccount.objects.create(
        user=user, source="ldap", subject=slapd.person_dn("wangfang").lower()
    )
    sign_in(client, "wangfang", password_of("wangfang"))
    assert signed_in_as(client) == "fang.wang"
    assert not get_user_model().objects.filter(username="wangfang").exists()


@pytest.mark.parametrize("kind", ["administrators", "provider", "other-entry"])
@pytest.mark.parametrize("name", ["wangfang", "WangFang"])
def test_the_directory_does_not_sign_into_an_account_it_did_not_create(
    client, ldap_site, kind, name
):
    existing = get_user_model().objects.create_user(name, email="someone@hospital.test")
    existing.set_unusable_password()
    existing.save()
    if kind == "provider":
        ExternalAccount.objects.create(user=existing, source="https://login.test", subject="s-1")
    elif kind == "other-entry":
        ExternalAccount.objects.create(
            user=existing, source="ldap", subject=slapd.person_dn("sunli").lower()
        )
    ldap_site.add_member(slapd.ADMIN_GROUP, slapd.person_dn("wangfang"))
    try:
        response = sign_in(client, "wangfang", password_of("wangfang"))
    finally:
        ldap_site.remove_member(slapd.ADMIN_GROUP, slapd.person_dn("wangfang"))
    assert FORM_ERROR in response.content.decode() and signed_in_as(client) is None
    existing.refresh_from_db()
    assert (existing.first_name, existing.email, existing.is_superuser) == (
        "",
        "someone@hospital.test",
        False,
    ), "names, e-mail and flags stay as they were"
    assert get_user_model().objects.count() == 1
    assert not ExternalAccount.objects.filter(subject=slapd.person_dn("wangfang").lower())
    failed = AuditEvent.objects.get(event=AuditEvent.LOGIN_FAILED)
    assert (failed.username, failed.outcome) == ("wangfang", AuditEvent.FAILURE)


def test_deactivating_a_directory_user_ends_their_open_session(client, ldap_site):
    sign_in(client, "wangfang", password_of("wangfang"))
    assert client.get("/api/studies/").status_code == 200
    get_user_model().objects.filter(username="wangfang").update(is_active=False)
    assert client.get("/api/studies/").status_code == 401
    page = client.get("/")
    assert page.status_code == 302 and page["Location"].startswith("/login/")


def test_a_deactivated_directory_users_session_ends_without_the_directory(
    client, db, settings, monkeypatch
):
    # The session check is in PACSweb's database: it needs no directory to answer.
    configure(settings, monkeypatch, f"ldap://127.0.0.1:{free_port()}")
    user = get_user_model().objects.create_user("wangfang")
    client.force_login(user, backend=LDAP_BACKEND)
    assert client.get("/api/studies/").status_code == 200
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    assert client.get("/api/studies/").status_code == 401


def test_it_signs_in_over_start_tls_with_the_directorys_ca(
    client, db, directory, settings, monkeypatch
):
    configure(
        settings,
        monkeypatch,
        directory.uri,
        PACSWEB_LDAP_START_TLS="yes",
        PACSWEB_LDAP_CA_FILE=str(directory.ca_file),
    )
    sign_in(client, "wangfang", password_of("wangfang"))
    assert signed_in_as(client) == "wangfang"


def test_it_refuses_a_directory_whose_certificate_another_ca_signed(
    client, db, directory, settings, monkeypatch, tmp_path, caplog
):
    other_ca, _key = slapd.make_ca(tmp_path, "someone-else")
    configure(
        settings,
        monkeypatch,
        directory.uri,
        PACSWEB_LDAP_START_TLS="yes",
        PACSWEB_LDAP_CA_FILE=str(other_ca),
    )
    with caplog.at_level(logging.WARNING):
        response = sign_in(client, "wangfang", password_of("wangfang"))
    assert FORM_ERROR in response.content.decode() and signed_in_as(client) is None
    assert any(r.name == "viewer.accounts.ldap_backend" for r in caplog.records)


@pytest.fixture
def silent_directory():
    """A port that accepts connections and never answers, as a hung directory does."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"ldap://127.0.0.1:{listener.getsockname()[1]}"


@pytest.mark.parametrize("dead", ["refusing", "silent"])
def test_a_dead_directory_fails_directory_sign_in_but_not_local_accounts(
    client, db, settings, monkeypatch, caplog, alice, dead, request
):
    uri = (
        f"ldap://127.0.0.1:{free_port()}"
        if dead == "refusing"
        else request.getfixturevalue("silent_directory")
    )
    configure(settings, monkeypatch, uri, PACSWEB_LDAP_TIMEOUT_SECONDS="1")
    with caplog.at_level(logging.DEBUG):
        response = sign_in(client, "wangfang", password_of("wangfang"))
    assert response.status_code == 200 and FORM_ERROR in response.content.decode()
    assert AuditEvent.objects.filter(event=AuditEvent.LOGIN_FAILED, username="wangfang").exists()
    warnings = [r for r in caplog.records if r.name == "viewer.accounts.ldap_backend"]
    assert warnings and all(r.levelno == logging.WARNING for r in warnings)
    assert not any("wangfang" in r.getMessage() for r in caplog.records), "no names in logs"
    sign_in(client, "alice", "alice-secret-pw")
    assert signed_in_as(client) == "alice"


def test_ldap_is_off_unless_a_uri_is_set(monkeypatch):
    monkeypatch.delenv("PACSWEB_LDAP_URI", raising=False)
    assert ldap_settings() == {}
    assert LDAP_BACKEND not in django_settings.AUTHENTICATION_BACKENDS


def test_settings_put_the_directory_after_axes_and_before_local_accounts():
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PACSWEB_LDAP_")},
        "DJANGO_SETTINGS_MODULE": "pacsweb.settings",
        "PACSWEB_LDAP_URI": "ldaps://dc1.hospital.example",
        "PACSWEB_LDAP_USER_SEARCH_BASE": "dc=hospital,dc=example",
        "PACSWEB_LDAP_USER_FILTER": "(sAMAccountName=%(user)s)",
        "PACSWEB_LDAP_GROUP_TYPE": "nestedActiveDirectory",
    }
    script = (
        "from django.conf import settings as s;"
        "print(*s.AUTHENTICATION_BACKENDS);"
        "print(type(s.AUTH_LDAP_GROUP_TYPE).__name__, s.AUTH_LDAP_USER_SEARCH.filterstr)"
    )
    shown = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=django_settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    backends = shown[0].split()
    model_backend = backends.index("django.contrib.auth.backends.ModelBackend")
    assert backends[0] == "axes.backends.AxesStandaloneBackend"
    assert backends.index(LDAP_BACKEND) < model_backend
    assert shown[1] == "NestedActiveDirectoryGroupType (sAMAccountName=%(user)s)"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PACSWEB_LDAP_URI", "dc1.hospital.example"),
        ("PACSWEB_LDAP_USER_SEARCH_BASE", ""),
        ("PACSWEB_LDAP_USER_FILTER", "(uid=wangfang)"),
        ("PACSWEB_LDAP_GROUP_TYPE", "posix"),
        ("PACSWEB_LDAP_START_TLS", "maybe"),
        ("PACSWEB_LDAP_CA_FILE", "/nonexistent/ca.pem"),
        ("PACSWEB_LDAP_TIMEOUT_SECONDS", "0"),
    ],
)
def test_it_refuses_a_bad_setting_at_start_up(monkeypatch, name, value):
    monkeypatch.setenv("PACSWEB_LDAP_URI", "ldap://dc1.hospital.example")
    monkeypatch.setenv("PACSWEB_LDAP_USER_SEARCH_BASE", "dc=hospital,dc=example")
    monkeypatch.setenv("PACSWEB_LDAP_START_TLS", "yes")
    monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured, match=name):
        ldap_settings()
