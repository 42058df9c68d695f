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
