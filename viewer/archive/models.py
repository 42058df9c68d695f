"""Patient, Study, Series and Instance: the archive's index of the files on disk."""

from django.db import connection, models
from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _


class Patient(models.Model):
    """A patient as the files name them; ``patient_key`` makes the identity explicit."""

    # Issuer + ID identify a patient; files without an ID fall back to name and birth date
    # so that anonymous files do not all merge into one patient.
    patient_key = models.CharField(max_length=400, unique=True)
    patient_id = models.CharField(_("patient ID"), max_length=64, blank=True, db_index=True)
    issuer_of_patient_id = models.CharField(max_length=64, blank=True)
    patient_name = models.CharField(_("patient name"), max_length=324, blank=True)
    name_search = models.CharField(max_length=324, blank=True, db_index=True)
    birth_date = models.DateField(null=True, blank=True)
    sex = models.CharField(max_length=16, blank=True)

    class Meta:
        verbose_name = _("patient")
        verbose_name_plural = _("patients")
        indexes = [
            # Patient ID is matched as UPPER(patient_id) = or LIKE (search.wildcard_filter),
            # which the plain index above cannot serve: C-FIND by ID read every patient.
            models.Index(Upper("patient_id"), name="viewer_patient_id_upper"),
        ]
        # name_search also has trigram indexes on PostgreSQL (migration 0014): the name
        # search's LIKE '%term%' read every patient.

    def __str__(self) -> str:
        return f"{self.patient_name} ({self.patient_id})"


class Study(models.Model):
    """One imaging study; counts are kept on the row so the study list needs no joins."""

    study_uid = models.CharField(_("Study Instance UID"), max_length=64, unique=True)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="studies")
    study_date = models.DateField(_("study date"), null=True, blank=True, db_index=True)
    study_time = models.CharField(max_length=16, blank=True)
    accession_number = models.CharField(
        _("accession number"), max_length=64, blank=True, db_index=True
    )
    study_id = models.CharField(max_length=16, blank=True)
    description = models.CharField(_("study description"), max_length=256, blank=True)
    referring_physician = models.CharField(max_length=324, blank=True)
    modalities = models.CharField(_("modalities"), max_length=128, blank=True)
    num_series = models.PositiveIntegerField(default=0)
    num_instances = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("study")
        verbose_name_plural = _("studies")
        ordering = ["-study_date", "-study_time"]

    def __str__(self) -> str:
        return self.study_uid

    def refresh_counts(self) -> None:
        """Recompute the series/instance counts and the modality list from the index."""
        series = list(self.series.annotate(n=Count("instances")).values("id", "modality", "n"))
        for row in series:
            Series.objects.filter(id=row["id"]).update(num_instances=row["n"])
        self.num_series = len(series)
        self.num_instances = sum(row["n"] for row in series)
        self.modalities = "\\".join(sorted({row["modality"] for row in series if row["modality"]}))
        self.save(update_fields=["num_series", "num_instances", "modalities", "updated_at"])

    def series_without_images(self, holding: Q) -> set[str]:
        """UIDs of this study's series that hold an instance matching ``holding`` (a
        filter on Instance) and no image: listed apart, never shown in a viewport."""
        held = Instance.objects.filter(holding, series=OuterRef("pk"))
        images = Instance.objects.filter(series=OuterRef("pk"), rows__isnull=False)
        return set(
            self.series.filter(Exists(held), ~Exists(images)).values_list("series_uid", flat=True)
        )


class Series(models.Model):
    """One series of a study."""

    series_uid = models.CharField(_("Series Instance UID"), max_length=64, unique=True)
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="series")
    modality = models.CharField(_("modality"), max_length=16, blank=True, db_index=True)
    series_number = models.IntegerField(null=True, blank=True)
    description = models.CharField(_("series description"), max_length=256, blank=True)
    body_part = models.CharField(max_length=64, blank=True)
    frame_of_reference_uid = models.CharField(max_length=64, blank=True)
    num_instances = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("series")
        verbose_name_plural = _("series")
        ordering = ["series_number", "id"]

    def __str__(self) -> str:
        return self.series_uid

    def middle_image(self) -> "Instance | None":
        """The series' middle image in the default order (its thumbnail); None without."""
        images = list(self.instances.filter(rows__isnull=False).only("series", "file_path"))
        return images[len(images) // 2] if images else None


class Instance(models.Model):
    """One stored SOP instance; ``file_path`` is relative to the storage root."""

    sop_instance_uid = models.CharField(_("SOP Instance UID"), max_length=64, unique=True)
    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="instances")
    sop_class_uid = models.CharField(max_length=64)
    instance_number = models.IntegerField(null=True, blank=True)
    transfer_syntax_uid = models.CharField(max_length=64, blank=True)
    rows = models.PositiveIntegerField(null=True, blank=True)
    columns = models.PositiveIntegerField(null=True, blank=True)
    number_of_frames = models.PositiveIntegerField(default=1)
    file_path = models.CharField(max_length=255)
    file_size = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    # The header's geometry, windows and timing for the viewer's series metadata, kept
    # at import so listing a series reads no file (null: indexed before it was kept).
    geometry = models.JSONField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("instance")
        verbose_name_plural = _("instances")
        ordering = ["instance_number", "id"]

    def __str__(self) -> str:
        return self.sop_instance_uid

    @property
    def has_pixels(self) -> bool:
        """Whether the instance carries an image (rows and columns known)."""
        return bool(self.rows and self.columns)

    @classmethod
    def stored_file_path(cls, study_uid: str, sop_instance_uid: str) -> str | None:
        """The file path of the study's instance (relative to the storage root); None if
        the study holds no such instance. One indexed lookup (SOP Instance UID is unique),
        in plain SQL: built by the ORM it was a sixth of a frame request's time."""
        query = (
            f"SELECT i.file_path FROM {cls._meta.db_table} i"
            f" JOIN {Series._meta.db_table} s ON s.id = i.series_id"
            f" JOIN {Study._meta.db_table} st ON st.id = s.study_id"
            " WHERE i.sop_instance_uid = %s AND st.study_uid = %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(query, [sop_instance_uid, study_uid])
            row = cursor.fetchone()
        return row[0] if row else None
