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


def test_it_installs_node_with_the_other_peers():
    [debs] = re.findall(r"^DEBS := (.*)$", MAKEFILE, flags=re.MULTILINE)
    assert "nodejs" in debs.split()


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
