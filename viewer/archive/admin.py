"""The archive's index in the admin, for looking things up; only import writes it."""

from django.contrib import admin

from .models import Instance, Patient, Series, Study


class IndexAdmin(admin.ModelAdmin):
    """Viewable and searchable; no adding or changing, and no deleting (it would orphan
    the archive's files)."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Patient)
class PatientAdmin(IndexAdmin):
    list_display = ("patient_name", "patient_id", "issuer_of_patient_id", "birth_date", "sex")
    search_fields = ("patient_id", "name_search")


@admin.register(Study)
class StudyAdmin(IndexAdmin):
    list_display = (
        "study_uid",
        "patient",
        "study_date",
        "accession_number",
        "modalities",
        "num_series",
        "num_instances",
    )
    search_fields = ("study_uid", "accession_number", "patient__patient_id")
    list_select_related = ("patient",)
    raw_id_fields = ("patient",)


@admin.register(Series)
class SeriesAdmin(IndexAdmin):
    list_display = ("series_uid", "study", "modality", "series_number", "num_instances")
    search_fields = ("series_uid",)
    raw_id_fields = ("study",)


@admin.register(Instance)
class InstanceAdmin(IndexAdmin):
    list_display = ("sop_instance_uid", "series", "instance_number", "transfer_syntax_uid")
    search_fields = ("sop_instance_uid",)
    raw_id_fields = ("series",)
