"""Our SCP's supported presentation contexts, copied cheaply for each association.

pynetdicom deep-copies a server's contexts for every association it accepts, so that
negotiation may change each one. For our 177 contexts and 2,238 transfer syntaxes that
is 30-75 ms of CPU an association, and a C-MOVE source such as Orthanc opens one for
every move request.
"""

import copy

from pynetdicom.presentation import PresentationContext


class CheaplyCopiedContexts(list):
    """A list of contexts whose deep copy is a new object per context with its own list
    of transfer syntaxes: the rest of a context is immutable values (UIDs, ints, bools)."""

    def __deepcopy__(self, memo: dict) -> list[PresentationContext]:
        return [_copied(context) for context in self]


def _copied(context: PresentationContext) -> PresentationContext:
    clone = copy.copy(context)
    clone._transfer_syntax = list(context._transfer_syntax)
    return clone


def copied_cheaply(server) -> None:
    """Give a started ``AssociationServer`` contexts that copy cheaply (same values)."""
    server.contexts = CheaplyCopiedContexts(server.contexts)
