"""Our SCU side (a listing, a retrieve) with no SCP in the process: pynetdicom formats no
query or response identifier (patient data) for a logger that would drop it."""

import logging

import pytest
from pynetdicom import _config
from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind

from tests.nodes.conftest import free_port, make_node
from viewer.nodes import scu

pytestmark = pytest.mark.django_db


@pytest.fixture
def identifier_logging():
    saved = _config.LOG_REQUEST_IDENTIFIERS, _config.LOG_RESPONSE_IDENTIFIERS
    _config.LOG_REQUEST_IDENTIFIERS = _config.LOG_RESPONSE_IDENTIFIERS = True  # its default
    yield
    _config.LOG_REQUEST_IDENTIFIERS, _config.LOG_RESPONSE_IDENTIFIERS = saved


def test_it_turns_identifier_formatting_off_when_it_associates(identifier_logging):
    logger = logging.getLogger("pynetdicom")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        node = make_node(free_port())  # nothing listens: the association fails, as it may
        scu.associate(node, [StudyRootQueryRetrieveInformationModelFind])
    finally:
        logger.setLevel(level)
    assert _config.LOG_REQUEST_IDENTIFIERS is False
    assert _config.LOG_RESPONSE_IDENTIFIERS is False


def test_it_keeps_identifier_formatting_for_a_logger_at_debug(identifier_logging):
    logger = logging.getLogger("pynetdicom")
    level = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        scu.associate(make_node(free_port()), [StudyRootQueryRetrieveInformationModelFind])
    finally:
        logger.setLevel(level)
    assert _config.LOG_RESPONSE_IDENTIFIERS is True
