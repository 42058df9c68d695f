"""Shared by the commands that name a node: find it, or say which nodes there are."""

from django.core.management.base import CommandError

from viewer.nodes.models import RemoteNode


def node_named(name: str) -> RemoteNode:
    """The configured node called ``name``, or a CommandError listing the names there are."""
    try:
        return RemoteNode.objects.get(name=name)
    except RemoteNode.DoesNotExist as exc:
        names = ", ".join(RemoteNode.objects.values_list("name", flat=True)) or "none"
        raise CommandError(f"no node named {name!r} (configured: {names})") from exc
