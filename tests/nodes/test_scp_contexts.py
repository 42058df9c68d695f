"""Our SCP's contexts are copied cheaply for each association, and a copy is as
independent of the others as pynetdicom's deep copy made it."""

import copy

import pytest
from pynetdicom import AE
from pynetdicom.sop_class import CTImageStorage, Verification

from tests.nodes.conftest import free_port
from viewer.nodes.contexts import CheaplyCopiedContexts
from viewer.nodes.scp import build_ae, start_server


def test_it_copies_every_context_with_the_values_of_a_deep_copy():
    ae, _ = build_ae("PACSWEB")
    contexts = CheaplyCopiedContexts(ae.supported_contexts)
    deep, cheap = copy.deepcopy(ae.supported_contexts), copy.deepcopy(contexts)
    assert [vars(context) for context in cheap] == [vars(context) for context in deep]


def test_it_keeps_what_one_association_negotiates_out_of_the_others():
    ae, _ = build_ae("PACSWEB")
    contexts = CheaplyCopiedContexts(ae.supported_contexts)
    first = copy.deepcopy(contexts)
    first[0].context_id = 7
    first[0].result = 0
    first[0].transfer_syntax.clear()
    second = copy.deepcopy(contexts)
    assert second[0].context_id is None
    assert second[0].result is None
    assert second[0].transfer_syntax == contexts[0].transfer_syntax != []


@pytest.mark.django_db(transaction=True)
def test_it_accepts_associations_one_after_another_with_the_copied_contexts():
    port = free_port()
    server = start_server("127.0.0.1", port, ae_title="PACSWEB")
    try:
        assert isinstance(server.contexts, CheaplyCopiedContexts)
        requestor = AE(ae_title="SENDER")
        requestor.add_requested_context(Verification)
        requestor.add_requested_context(CTImageStorage)
        for _ in range(2):
            assoc = requestor.associate("127.0.0.1", port, ae_title="PACSWEB")
            assert assoc.is_established
            assert {c.abstract_syntax for c in assoc.accepted_contexts} == {
                Verification,
                CTImageStorage,
            }
            assert assoc.send_c_echo().Status == 0x0000
            assoc.release()
    finally:
        server.shutdown()
