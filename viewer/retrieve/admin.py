"""Retrieve jobs in the admin: see them, their state and errors; cancel."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import RetrieveJob


@admin.register(RetrieveJob)
class RetrieveJobAdmin(admin.ModelAdmin):
    list_display = ("study_uid", "node", "state", "requested_by", "created_at", "updated_at")
    list_filter = ("state", "node")
    search_fields = ("study_uid",)
    readonly_fields = ("study_uid", "node", "requested_by", "created_at", "updated_at", "error")
    actions = ["cancel_jobs"]

    @admin.action(description=_("Cancel the selected jobs"))
    def cancel_jobs(self, request, queryset) -> None:
        count = queryset.filter(state__in=RetrieveJob.ACTIVE).update(state=RetrieveJob.CANCELLED)
        self.message_user(request, _("%(count)d jobs cancelled.") % {"count": count})
