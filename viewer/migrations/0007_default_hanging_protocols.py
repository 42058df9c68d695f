"""Sensible hanging protocols to start from; administrators edit them in the admin."""

from django.db import migrations

DEFAULTS = [
    {
        "name": "CT: soft tissue beside lung, coronal if present",
        "priority": 10,
        "modality": "CT",
        "rules": [
            {"plane": "axial", "min_images": 2, "window": "Abdomen"},
            {"same_as": 0, "window": "Lung"},
            {"plane": "coronal", "min_images": 2, "optional": True, "window": "Abdomen"},
        ],
    },
    {
        "name": "CR: one image per viewport",
        "priority": 10,
        "modality": "CR",
        "rules": [{"each": True}],
    },
    {
        "name": "DX: one image per viewport",
        "priority": 10,
        "modality": "DX",
        "rules": [{"each": True}],
    },
    {
        "name": "MR: 2x2 by sequence",
        "priority": 10,
        "modality": "MR",
        "layout": "2x2",
        "rules": [
            {"series": "*t1*", "optional": True},
            {"series": "*t2*", "optional": True},
            {"series": "*flair*", "optional": True},
            {"series": "*diff*", "optional": True},
            {"each": True},
        ],
    },
]


def create(apps, schema_editor):
    HangingProtocol = apps.get_model("viewer", "HangingProtocol")
    for values in DEFAULTS:
        HangingProtocol.objects.get_or_create(name=values["name"], defaults=values)


def remove(apps, schema_editor):
    HangingProtocol = apps.get_model("viewer", "HangingProtocol")
    HangingProtocol.objects.filter(name__in=[values["name"] for values in DEFAULTS]).delete()


class Migration(migrations.Migration):
    dependencies = [("viewer", "0006_hanging_protocols")]
    operations = [migrations.RunPython(create, remove)]
