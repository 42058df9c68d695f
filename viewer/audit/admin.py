"""The audit trail in the admin: readable by administrators, changeable by nobody."""

from django.contrib import admin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = (
        "timestamp",
        "event",
        "outcome",
        "username",
        "ae_title",
        "patient_id",
        "study_uid",
        "count",
        "remote_address",
    )
    list_filter = ("event", "outcome", "timestamp")
    # Who (a person or a DICOM peer), which study or patient, from where.
    search_fields = ("username", "ae_title", "study_uid", "patient_id", "remote_address")
    date_hierarchy = "timestamp"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser
