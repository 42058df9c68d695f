"""The Makefile's test target runs every JavaScript test and installs what it needs."""

import glob
import re
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
MAKEFILE = (ROOT / "Makefile").read_text()


def test_it_gives_node_a_glob_of_every_javascript_test_file():
    # Node 22+ refuses a directory after --test; a shell glob works on 20 and 22+ alike.
    [pattern] = re.findall(r"node --test (\S+)", MAKEFILE)
    assert not pattern.endswith("/"), "a directory: Node 22+ runs nothing"
    matched = {Path(p) for p in glob.glob(pattern, root_dir=ROOT)}
    every = {p.relative_to(ROOT) for p in (ROOT / "tests" / "js").rglob("*.test.mjs")}
    assert every and matched == every, sorted(map(str, every - matched))


def test_it_installs_node_and_orthanc_with_the_other_peers():
    [debs] = re.findall(r"^DEBS := (.*)$", MAKEFILE, flags=re.MULTILINE)
    assert {"nodejs", "dcmtk", "chromium", "orthanc", "orthanc-dicomweb"} <= set(debs.split())


def test_it_fetches_the_viewers_codec_for_both_commands():
    for target in ("run", "test"):
        [prerequisites] = re.findall(rf"^{target}: (.*)$", MAKEFILE, flags=re.MULTILINE)
        assert "codecs" in prerequisites.split(), target


def test_it_refuses_a_codec_tarball_that_is_not_the_pinned_one(tmp_path):
    import importlib.util

    import pytest

    spec = importlib.util.spec_from_file_location("fetch_codecs", ROOT / "tools/fetch_codecs.py")
    fetch_codecs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fetch_codecs)
    assert fetch_codecs.tarball_url().endswith(
        "/@cornerstonejs/codec-charls/-/codec-charls-1.2.7.tgz"
    )
    with pytest.raises(SystemExit, match="SHA-256"):
        fetch_codecs.install(tmp_path / "codecs", b"not the package")
    assert not (tmp_path / "codecs").exists(), (
        "nothing written from a tarball that failed the check"
    )


def fake_python(path: Path, works: bool = True) -> None:
    """An executable that answers like a Python with venv (or fails, like a pyenv shim
    for a version pyenv has not selected)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n" if works else "#!/bin/sh\nexit 127\n")
    path.chmod(0o755)


def pythons(path_dir: Path, pyenv_root: Path) -> list[str]:
    import subprocess

    found = subprocess.run(
        ["sh", str(ROOT / "tools" / "pythons")],
        env={"PATH": f"{path_dir}:/usr/bin:/bin", "PYENV_ROOT": str(pyenv_root)},
        capture_output=True,
        text=True,
        check=True,
    )
    return found.stdout.split()


def test_it_lists_the_supported_pythons_present_newest_first(tmp_path):
    bin_dir, pyenv = tmp_path / "bin", tmp_path / "pyenv"
    fake_python(bin_dir / "python3.11")
    fake_python(bin_dir / "python3.12", works=False)  # a shim for an unselected version
    fake_python(pyenv / "versions" / "3.12.1" / "bin" / "python3.12")
    fake_python(bin_dir / "python3.13")
    fake_python(bin_dir / "python3.10")  # too old: Django 5.2 runs on it, we do not
    assert pythons(bin_dir, pyenv) == [
        str(bin_dir / "python3.13"),
        str(pyenv / "versions" / "3.12.1" / "bin" / "python3.12"),
        str(bin_dir / "python3.11"),
    ]


def test_it_finds_none_where_only_a_python_without_venv_is(tmp_path):
    fake_python(tmp_path / "bin" / "python3.11", works=False)
    assert pythons(tmp_path / "bin", tmp_path / "pyenv") == []


def test_it_builds_the_venv_anew_for_another_python_and_tests_on_two():
    # The stamp names the Python's version: a newer Python found rebuilds .venv.
    assert "$(VENV)/.installed-$(PY_VERSION): pyproject.toml" in MAKEFILE
    assert re.search(r"^PYTHON \?= \$\(firstword \$\(PYTHONS\)\)$", MAKEFILE, re.MULTILINE)
    assert re.search(r"^COMPAT_PYTHON \?= \$\(lastword \$\(PYTHONS\)\)$", MAKEFILE, re.MULTILINE)
    [test_recipe] = re.findall(r"^test: .*?(?=^\S)", MAKEFILE, re.MULTILINE | re.DOTALL)
    assert "test-postgres" in test_recipe
    # The PostgreSQL pass runs on the oldest Python: two passes cover both databases and
    # both ends of the Pythons supported (a third pass did not fit CI's 90 minutes).
    [postgres_recipe] = re.findall(
        r"^test-postgres:.*?(?=^\S|\Z)", MAKEFILE, re.MULTILINE | re.DOTALL
    )
    assert "DATABASE_URL=$(TEST_PG_URL) $(COMPAT_VENV)/bin/pytest" in postgres_recipe
    assert 'if [ "$$CI" = "true" ]' in postgres_recipe


def test_it_declares_the_pythons_it_supports():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["requires-python"] == ">=3.11,<3.14"


def test_it_installs_the_ldap_headers_before_building_either_venv():
    # python-ldap has no wheel: pip builds it against Debian's libldap and SASL headers.
    [build_debs] = re.findall(r"^BUILD_DEBS := (.*)$", MAKEFILE, flags=re.MULTILINE)
    assert {"libldap-dev", "libsasl2-dev"} <= set(build_debs.split())
    assert re.search(r"^build-deps:$", MAKEFILE, flags=re.MULTILINE)
    for stamp in ("$(VENV)/.installed-$(PY_VERSION):", "$(COMPAT_VENV)/.installed:"):
        [rule] = [line for line in MAKEFILE.splitlines() if line.startswith(stamp)]
        assert rule.endswith("| build-deps"), rule
    [debs] = re.findall(r"^DEBS := (.*)$", MAKEFILE, flags=re.MULTILINE)
    assert {"slapd", "ldap-utils"} <= set(debs.split()), "the sign-in tests' directory"
