"""Each instance's geometry as kept at import, read from its file where it was not."""

from collections.abc import Sequence
from dataclasses import fields

from viewer.imaging.geometry import Geometry, stored_geometry

from .models import Instance
from .storage import absolute_path


def instance_geometries(instances: Sequence[Instance]) -> list[Geometry]:
    """The geometry of each instance, in order, from the index; an instance indexed
    before geometry was kept (or kept in an older form) has its header read once, and
    what it says is kept for the next time."""
    geometries, filled = [], []
    for instance in instances:
        geometry = _kept(instance)
        if geometry is None:
            path = absolute_path(instance.file_path)
            geometry = stored_geometry(path, instance.sop_instance_uid)
            instance.geometry = geometry.as_dict()
            filled.append(instance)
        geometries.append(geometry)
    if filled:
        Instance.objects.bulk_update(filled, ["geometry"], batch_size=500)
    return geometries


# Every field: an entry kept before a field was added lacks it and is read again (a
# default would pass for what the header says, e.g. a mammogram's orientation).
_FIELDS = frozenset(f.name for f in fields(Geometry))


def _kept(instance: Instance) -> Geometry | None:
    kept = instance.geometry
    if not isinstance(kept, dict) or not _FIELDS <= kept.keys():
        return None
    try:
        return Geometry.from_dict(kept)
    except TypeError:  # kept by a version whose Geometry had other fields
        return None
