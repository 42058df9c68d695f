"""Measurement: one person's mark on one image, in image coordinates, kept for next time."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from . import kinds
from .hanging import NARROW_MAX_VIEWPORTS, parse_layout


class Measurement(models.Model):
    """A length, angle, ROI, probe, arrow or text on one frame of one instance, or a
    length drawn on an MPR reformat, in the patient coordinates of its series' volume."""

    KINDS = [(k.kind, k.verbose_name) for k in kinds.KINDS.values()]

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="measurements"
    )
    study_uid = models.CharField(_("Study Instance UID"), max_length=64, db_index=True)
    series_uid = models.CharField(_("Series Instance UID"), max_length=64)
    sop_instance_uid = models.CharField(_("SOP Instance UID"), max_length=64, blank=True)
    frame = models.PositiveIntegerField(_("frame"), default=1)
    kind = models.CharField(_("kind"), max_length=16, choices=KINDS)
    SPACES = [("image", _("on an image")), ("patient", _("in the volume (MPR)"))]
    space = models.CharField(_("space"), max_length=8, choices=SPACES, default="image")
    # For a measurement in the volume: the frame of reference its points are in.
    frame_of_reference_uid = models.CharField(
        _("Frame of Reference UID"), max_length=64, blank=True
    )
    # On an image: column, row pairs in image pixels, so the mark follows zoom, pan,
    # rotation and flip. In the volume: x, y, z in mm in the patient coordinate system.
    points = models.JSONField(_("points"))
    label = models.CharField(_("label"), max_length=200, blank=True)
    shared = models.BooleanField(
        _("shared"), default=False, help_text=_("Everyone who opens the study sees it.")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("measurement")
        verbose_name_plural = _("measurements")
        ordering = ["created_at"]
        indexes = [models.Index(fields=["owner", "study_uid"])]

    def __str__(self) -> str:
        where = self.sop_instance_uid if self.space == "image" else f"MPR of {self.series_uid}"
        return f"{self.get_kind_display()} on {where}"

    def as_dict(self, viewer=None) -> dict:
        """JSON for the viewer; ``mine`` says whether ``viewer`` may change it."""
        return {
            "id": self.pk,
            "study_uid": self.study_uid,
            "series_uid": self.series_uid,
            "sop_instance_uid": self.sop_instance_uid,
            "frame": self.frame,
            "space": self.space,
            "frame_of_reference_uid": self.frame_of_reference_uid,
            "kind": self.kind,
            "points": self.points,
            "label": self.label,
            "shared": self.shared,
            "owner": self.owner.get_username(),
            "mine": viewer is not None and viewer.pk == self.owner_id,
            "updated_at": self.updated_at.isoformat(),
        }


class HangingProtocol(models.Model):
    """How a kind of study opens: layout, which series where, at which window."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    priority = models.IntegerField(
        _("priority"), default=0, help_text=_("When several match, the highest wins.")
    )
    modality = models.CharField(_("modality"), max_length=16, blank=True)
    body_part = models.CharField(
        _("body part pattern"), max_length=64, blank=True, help_text=_("e.g. CHEST or *ABD*")
    )
    study_description = models.CharField(
        _("study description pattern"), max_length=200, blank=True, help_text=_("e.g. *chest*")
    )
    min_series = models.PositiveSmallIntegerField(_("minimum series"), default=1)
    layout = models.CharField(
        _("layout"),
        max_length=8,
        blank=True,
        help_text=_("rows x columns; empty fits the viewports"),
    )
    rules = models.JSONField(
        _("viewport rules"),
        default=list,
        help_text=_(
            'One object per viewport: "series" (description pattern), "plane" (axial, '
            'coronal, sagittal), "min_images", "window" (a preset name), "optional", '
            '"same_as" (index of an earlier viewport), or "each" (one per series); for '
            'projection images "laterality" (R, L), "view" (CC, MLO, ...) and "chest_wall": '
            '"facing" (the chest walls of a pair toward the middle, mirrored where the '
            "image's orientation says so)."
        ),
    )
    narrow_layout = models.CharField(
        _("layout on a narrow screen"),
        max_length=8,
        blank=True,
        help_text=_("rows x columns on a phone, at most two viewports; empty shows one viewport"),
    )
    narrow_viewports = models.JSONField(
        _("viewports on a narrow screen"),
        default=list,
        blank=True,
        help_text=_(
            "Viewport rules a phone shows first, by their index in the rules (0 is the "
            "first), e.g. [2, 0]; the other viewports follow in order, a tap away. Empty "
            "keeps the order: the first viewport first."
        ),
    )

    class Meta:
        verbose_name = _("hanging protocol")
        verbose_name_plural = _("hanging protocols")
        ordering = ["-priority", "name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """A narrow layout is a grid of at most two; narrow viewports name rules that exist."""
        errors = {}
        if self.narrow_layout:
            shape = parse_layout(self.narrow_layout)
            if shape is None:
                errors["narrow_layout"] = _('Write rows x columns, e.g. "1x1" or "2x1".')
            elif shape[0] * shape[1] > NARROW_MAX_VIEWPORTS:
                errors["narrow_layout"] = _("A narrow screen shows at most two viewports.")
            else:
                self.narrow_layout = f"{shape[0]}x{shape[1]}"
        if self.narrow_viewports is None:
            self.narrow_viewports = []
        rules = len(self.rules) if isinstance(self.rules, list) else 0
        indexes = self.narrow_viewports
        if not isinstance(indexes, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in indexes
        ):
            errors["narrow_viewports"] = _("Give a list of rule indexes, e.g. [2, 0].")
        elif indexes and not rules:
            errors["narrow_viewports"] = _("This protocol has no viewport rules to name.")
        elif any(not 0 <= i < rules for i in indexes):
            errors["narrow_viewports"] = _(
                "Each index must name a viewport rule: 0 to %(last)s."
            ) % {"last": rules - 1}
        elif len(set(indexes)) != len(indexes):
            errors["narrow_viewports"] = _("Name each viewport rule once.")
        if errors:
            raise ValidationError(errors)
