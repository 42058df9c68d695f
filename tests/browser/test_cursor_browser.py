"""The 3-D cursor in Debian's chromium: press on a spot, the other series turn to it."""

import numpy as np
import pydicom
import pytest

from tests.base import SMALL_CT
from viewer.demo.ct_study import study_uid as demo_study_uid

from .conftest import choose_tool, signed_in_page

pytestmark = pytest.mark.browser


def show_in(page, position: int, description: str) -> None:
    page.locator(f'.viewport[data-position="{position}"] canvas').first.click()
    page.click(f".series-strip button:has-text('{description}')")
    page.wait_for_function(
        f"pacsweb.viewports[{position}].state.series?.description === '{description}'"
        f" && pacsweb.viewports[{position}].state.frame !== null"
    )


def test_the_cursor_takes_the_other_series_to_the_spot(browser, server_url, small_ct_folder):
    page = signed_in_page(browser, server_url)
    page.goto(f"{server_url}/studies/{demo_study_uid(SMALL_CT)}/view/?protocol=none")
    page.wait_for_function("document.getElementById('viewer').dataset.ready === 'true'")
    page.evaluate("pacsweb.setLayout('1x2')")
    show_in(page, 0, "Axial 1.0 mm")
    show_in(page, 1, "Coronal 5.0 mm")
    choose_tool(page, "cursor")
    coronal = {
        ds.SOPInstanceUID: ds
        for ds in map(pydicom.dcmread, (small_ct_folder / "s04").glob("*.dcm"))
    }
    # Aim at the row of the axial image through the second coronal slice's plane.
    second = sorted(float(ds.ImagePositionPatient[1]) for ds in coronal.values())[1]
    x, y = page.evaluate(
        """(y) => {
          const v = pacsweb.viewports[0];
          const entry = v.state.series.instances[v.state.index];
          const row = (y - entry.position[1]) / entry.pixel_spacing[0];
          return v.toScreen([(entry.columns - 1) / 2, row]);
        }""",
        second + 1.0,
    )
    box = page.locator('.viewport[data-position="0"] canvas').first.bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.wait_for_function("pacsweb.cursor !== undefined")
    point = np.array(page.evaluate("pacsweb.cursor"))
    # The coronal image it turned to lies nearest the point, by its own header.
    index = page.evaluate("pacsweb.viewports[1].state.index")
    sop = page.evaluate(f"pacsweb.viewports[1].state.series.instances[{index}].sop_instance_uid")
    distances = {
        uid: abs(float(ds.ImagePositionPatient[1]) - point[1]) for uid, ds in coronal.items()
    }
    assert sop == min(distances, key=distances.get)
    assert distances[sop] == pytest.approx(1.0, abs=0.2)
    # Marked on both: the coronal slice holds the point (1 mm off, within half of 5 mm).
    assert page.locator('.viewport[data-position="1"] svg path.cursor3d').count() == 1
    assert page.locator('.viewport[data-position="0"] svg path.cursor3d').count() == 1
    page.close()
