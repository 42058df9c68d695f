"""Run a node's verification and keep its outcome on the node."""

from django.utils import timezone

from . import dicomweb
from .models import RemoteNode
from .outcomes import Verification
from .scu import verify


def verify_and_record(node: RemoteNode) -> Verification:
    """Verify ``node`` and store the result and time on it for the node list."""
    result = dicomweb.verify(node) if node.protocol == RemoteNode.DICOMWEB else verify(node)
    node.last_verified_at = timezone.now()
    node.last_verify_ok = result.ok
    node.last_verify_summary = result.summary()
    node.save(update_fields=["last_verified_at", "last_verify_ok", "last_verify_summary"])
    return result
