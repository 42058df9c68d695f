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


def test_the_rest_of_the_graph_comes_after_the_first_images_modules_at_low_priority(settings):
    settings.DEBUG = True
    first = re.findall(r'href="([^"]+)"', module_preloads("viewer/io/early.js"))
    rest = module_preloads("viewer/main.js", after="viewer/io/early.js", priority="low")
    later = re.findall(r'<link rel="modulepreload" href="([^"]+)" fetchpriority="low">', rest)
    assert first[0].endswith("viewer/io/early.js")
    assert any(link.endswith("viewer/io/api.js") for link in first)
    assert later[0].endswith("viewer/main.js") and rest.count("<link") == len(later)
    assert not set(first) & set(later), "a module main.js imports too is preloaded once"


def test_a_page_opening_one_series_asks_for_its_first_image_early(alice_client, small_ct):
    """The decoder's worker starts in the head, and io/early.js is told the series."""
    from tests.base import SMALL_CT
    from viewer.archive.models import Series
    from viewer.demo.ct_study import study_uid

    series = Series.objects.filter(study__study_uid=study_uid(SMALL_CT)).first()
    page = alice_client.get(
        f"/studies/{study_uid(SMALL_CT)}/view/?series={series.series_uid}"
    ).content.decode()
    head = page.split("</head>")[0]
    assert "new Worker(" in head and "pacswebDecodeWorkers" in head
    assert f'data-first-series="{series.series_uid}"' in head
    listing = head.index(f"/series/{series.series_uid}/metadata/")
    assert listing < head.index('rel="modulepreload"'), (
        "the listing is asked for before the modules"
    )


def test_a_study_opened_without_a_series_asks_early_for_the_series_it_opens_on(
    alice_client, small_ct
):
    """The default open (no ?series=): io/early.js is told the first viewport's series."""
    from tests.base import SMALL_CT
    from viewer.demo.ct_study import study_uid

    page = alice_client.get(f"/studies/{study_uid(SMALL_CT)}/view/").content.decode()
    head = page.split("</head>")[0]
    first = re.search(r'data-first-series="([^"]*)"', head)
    assert first and first.group(1), "the early script names the series the page opens"
    assert f"/series/{first.group(1)}/metadata/" in head, "whose listing the page preloads"
    assert re.search(r'data-narrow-series="[^"]+"', head), "and the one a phone opens"
