"""The default mammography protocol: the four standard views, hung as they are read."""

from django.db import migrations, models

# CC pair above, MLO pair below; the right breast on the left of the screen, the left on
# the right, each image's chest wall toward the middle (the viewer mirrors an image
# whose PatientOrientation says its chest wall is on the other side).
MAMMO = {
    "name": "MG: R/L CC above, R/L MLO below, chest walls facing",
    "priority": 20,
    "modality": "MG",
    "layout": "2x2",
    "rules": [
        {
            "modality": "MG",
            "laterality": "R",
            "view": "CC",
            "chest_wall": "facing",
            "optional": False,
        },
        {
            "modality": "MG",
            "laterality": "L",
            "view": "CC",
            "chest_wall": "facing",
            "optional": False,
        },
        {
            "modality": "MG",
            "laterality": "R",
            "view": "MLO",
            "chest_wall": "facing",
            "optional": False,
        },
        {
            "modality": "MG",
            "laterality": "L",
            "view": "MLO",
            "chest_wall": "facing",
            "optional": False,
        },
    ],
    # A phone shows the CC pair first, one image at a time; the MLOs are a tap away.
    "narrow_layout": "1x1",
    "narrow_viewports": [0, 1, 2, 3],
}


def create(apps, schema_editor):
    HangingProtocol = apps.get_model("viewer", "HangingProtocol")
    HangingProtocol.objects.get_or_create(name=MAMMO["name"], defaults=MAMMO)


def remove(apps, schema_editor):
    HangingProtocol = apps.get_model("viewer", "HangingProtocol")
    HangingProtocol.objects.filter(name=MAMMO["name"]).delete()


class Migration(migrations.Migration):
    dependencies = [("viewer", "0018_node_launch_order")]
    operations = [
        migrations.AlterField(
            model_name="hangingprotocol",
            name="rules",
            field=models.JSONField(
                default=list,
                help_text='One object per viewport: "series" (description pattern), "plane" (axial, coronal, sagittal), "min_images", "window" (a preset name), "optional", "same_as" (index of an earlier viewport), or "each" (one per series); for projection images "laterality" (R, L), "view" (CC, MLO, ...) and "chest_wall": "facing" (the chest walls of a pair toward the middle, mirrored where the image\'s orientation says so).',
                verbose_name="viewport rules",
            ),
        ),
        migrations.RunPython(create, remove),
    ]
