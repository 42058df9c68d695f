"""The audit trail in the admin: readable by administrators, changeable by nobody."""

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    # Fits a 1366-pixel screen beside the filters: the person or the peer's AE title in
    # one column, and a study UID shown by its end (the whole on hover).
    list_display = (
        "timestamp",
        "event",
        "outcome",
        "who",
        "patient_id",
        "study",
        "count",
        "remote_address",
    )
    list_filter = ("event", "outcome", "timestamp")
    # Who (a person or a DICOM peer), which study or patient, from where.
    search_fields = ("username", "ae_title", "study_uid", "patient_id", "remote_address")
    date_hierarchy = "timestamp"

    @admin.display(description=_("who"), ordering="username")
    def who(self, event: AuditEvent) -> str:
        """The person's user name, or the DICOM peer's AE title."""
        if event.username or not event.ae_title:
            return event.username
        return f"AE {event.ae_title}"

    @admin.display(description=_("Study Instance UID"), ordering="study_uid")
    def study(self, event: AuditEvent) -> str:
        """The UID's last 12 characters, which tell studies apart; all of it on hover."""
        if len(event.study_uid) <= 14:
            return event.study_uid
        return format_html('<span title="{}">…{}</span>', event.study_uid, event.study_uid[-12:])

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser
