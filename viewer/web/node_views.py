"""JSON API: the configured nodes the viewer may send DICOM objects to (C-STORE)."""

from django.db.models import QuerySet
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from viewer.nodes.models import RemoteNode


def receiving_nodes() -> QuerySet[RemoteNode]:
    """Enabled DIMSE nodes with an AE title and a host: those a C-STORE can reach."""
    return (
        RemoteNode.objects.filter(enabled=True, protocol=RemoteNode.DIMSE)
        .exclude(ae_title="")
        .exclude(host="")
        .order_by("name")
    )


@require_GET
def nodes_receiving(request: HttpRequest) -> JsonResponse:
    """The nodes a person may send to, by name; for staff also where they listen
    (AE@host:port), which the search form does not show to others either."""
    staff = request.user.is_staff
    return JsonResponse(
        {
            "nodes": [
                {"id": node.pk, "name": node.name, **({"address": node.address} if staff else {})}
                for node in receiving_nodes()
            ]
        }
    )
