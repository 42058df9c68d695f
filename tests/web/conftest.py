"""Fixtures the frame endpoints' tests share: the small CT's thin series, and a
multi-frame image filed in it."""

import pytest

from tests.base import file_dose_in
from viewer.archive.models import Instance, Series


@pytest.fixture
def thin(small_ct) -> Series:
    return Series.objects.get(description="Axial 1.0 mm")


@pytest.fixture
def dose(thin, tmp_path) -> Instance:
    """pydicom's 15-frame uint32 RT dose filed in the thin series: a multi-frame image
    there (and one JPEG-LS cannot carry)."""
    return file_dose_in(thin, tmp_path, "frames")
