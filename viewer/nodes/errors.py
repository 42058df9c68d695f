"""The one error type of talking to a node, and whose fault it is: the node's or the instance's.

A node error (refused, reset, timed out, busy or gateway 429/502/503/504, an association
that failed; for a listing any 5xx) says nothing about the instance asked for: the engine
pauses the node's transfers and probes it rather than spending the instance's attempts.
An instance error (404, other 4xx, a 500 for that instance, not DICOM, the wrong UIDs, a
refused sub-operation) is the instance's alone.
"""

import socket

import httpx

NODE, INSTANCE = "node", "instance"

# The words of ``scu.probe_tcp`` and ``scu.associate`` when the node cannot be reached
# or would not associate: a query error that carries one of them is the node's.
_NODE_WORDS = (
    "connection refused",
    "no answer from",
    "cannot be resolved",
    "is unreachable",
    "cannot connect",
    "association rejected",
    "no answer to the association request",
    "aborted the association",
    "did not answer in time",
    "within the dimse timeout",
)


class TransferError(Exception):
    """A request to a node failed; ``kind`` says whose fault, ``retryable`` whether
    another attempt at the same instance may succeed, ``rate_limited`` that the node
    limits its rate (never one instance's fault, however many others it sends)."""

    def __init__(
        self,
        message: str,
        retryable: bool = True,
        kind: str = INSTANCE,
        *,
        rate_limited: bool = False,
    ) -> None:
        super().__init__(message)
        if kind not in (NODE, INSTANCE):
            raise ValueError(f"unknown error kind: {kind!r}")
        self.retryable = retryable
        self.kind = kind
        self.rate_limited = rate_limited

    @property
    def is_node(self) -> bool:
        """True when the node, not the instance, failed."""
        return self.kind == NODE


def classify(error: BaseException) -> str:
    """NODE or INSTANCE for any error met while talking to a node (listing included)."""
    seen: BaseException | None = error
    while seen is not None:
        kind = getattr(seen, "kind", None)
        if kind in (NODE, INSTANCE):
            return kind
        if isinstance(
            seen, httpx.TransportError | ConnectionError | TimeoutError | socket.gaierror
        ):
            return NODE
        if isinstance(seen, httpx.HTTPStatusError) and seen.response.status_code >= 500:
            return NODE
        seen = seen.__cause__ or seen.__context__
    text = str(error).lower()
    if any(words in text for words in _NODE_WORDS) or _server_error(text):
        return NODE
    return INSTANCE


def _server_error(text: str) -> bool:
    # "the server answered HTTP 503" from the DICOMweb client: busy or failing.
    marker = text.rfind("http ")
    code = text[marker + 5 : marker + 8] if marker >= 0 else ""
    return code.isdigit() and (code.startswith("5") or code == "429")
