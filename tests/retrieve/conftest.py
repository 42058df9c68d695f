"""Fixtures for retrieve tests: a misbehaving server and the small CT's files."""

import pytest

from .faulty_server import FaultyServer
from .support import read_sources


@pytest.fixture(autouse=True)
def quick_retries(settings):
    settings.PACSWEB_RETRY_BASE_SECONDS = 0
    settings.PACSWEB_RETRY_ATTEMPTS = 3


@pytest.fixture(autouse=True)
def no_prior_prefetch(settings, monkeypatch):
    # A job that ends done asks the nodes for the study's priors (retrieve.priors): the
    # engine's tests count what their node is asked, so only test_priors turns it on
    # (the environment too, for the workers spawned in their own processes).
    settings.PACSWEB_PRIOR_PREFETCH = 0
    monkeypatch.setenv("PACSWEB_PRIOR_PREFETCH", "0")


@pytest.fixture
def server():
    with FaultyServer() as running:
        yield running


@pytest.fixture
def sources(small_ct_folder) -> dict:
    """SOP Instance UID -> (file, parsed) for the small CT, in study order."""
    return read_sources(small_ct_folder)
