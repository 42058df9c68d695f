"""The viewer page preloads its modules' whole import graph."""

import re
from pathlib import Path

from django.conf import settings

from viewer.templatetags.modules import import_graph, module_preloads


def test_it_follows_static_imports_through_folders_and_back():
    sources = {
        "v/main.js": "import { a } from './io/a.js';\nimport './b.js';\n",
        "v/io/a.js": "export { c } from '../math/c.js';\nconst later = () => import('./lazy.js');",
        "v/b.js": "import { a } from './io/a.js';",
        "v/math/c.js": "export const c = 1;",
    }
    assert import_graph("v/main.js", sources.get) == [
        "v/main.js",
        "v/io/a.js",
        "v/b.js",
        "v/math/c.js",
    ], "each once, and no dynamic import"


def test_it_preloads_every_module_the_viewer_imports(settings):
    settings.DEBUG = True  # read afresh
    links = re.findall(
        r'<link rel="modulepreload" href="([^"]+)">', module_preloads("viewer/main.js")
    )
    static = Path(settings.BASE_DIR) / "static"
    named = {link.split("/static/", 1)[1] for link in links}
    assert "viewer/main.js" in named and "viewer/io/loader.js" in named
    assert "viewer/state/load-plan.js" in named, "imported by a module main.js imports"
    assert all((static / path).is_file() for path in named)
    assert "viewer/io/decode-worker.js" not in named, "a worker's script is not the page's"


def test_the_viewer_page_carries_the_preloads(alice_client, small_ct):
    from tests.base import SMALL_CT
    from viewer.demo.ct_study import study_uid

    page = alice_client.get(f"/studies/{study_uid(SMALL_CT)}/view/").content.decode()
    assert page.count('rel="modulepreload"') > 10
    assert settings.STATIC_URL + "viewer/viewport.js" in page
