"""The archive's index in the admin, for looking things up."""

from django.contrib import admin

from .models import Instance, Patient, Series, Study


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ("patient_name", "patient_id", "issuer_of_patient_id", "birth_date", "sex")
    search_fields = ("patient_id", "name_search")


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin):
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
class SeriesAdmin(admin.ModelAdmin):
    list_display = ("series_uid", "study", "modality", "series_number", "num_instances")
    search_fields = ("series_uid",)
    raw_id_fields = ("study",)


@admin.register(Instance)
class InstanceAdmin(admin.ModelAdmin):
    list_display = ("sop_instance_uid", "series", "instance_number", "transfer_syntax_uid")
    search_fields = ("sop_instance_uid",)
    raw_id_fields = ("series",)
