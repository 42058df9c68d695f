"""Retrieve jobs in the admin: state, priority, node slots, what failed and why; cancel, retry."""

from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .jobs import cancel, retry, series_progress
from .models import NodeSlot, RetrieveJob, TransferTask


class UnfinishedTaskInline(admin.TabularInline):
    """The instances still to come or given up, with their last error; done ones are hidden."""

    model = TransferTask
    verbose_name_plural = _("instances not retrieved (yet)")
    fields = ("series_number", "position", "sop_instance_uid", "state", "attempts", "last_error")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).exclude(state__in=TransferTask.FINISHED)


@admin.register(RetrieveJob)
class RetrieveJobAdmin(admin.ModelAdmin):
    list_display = (
        "study_uid",
        "node",
        "state",
        "priority",
        "slots_held",
        "progress",
        "note",
        "policy",
        "requested_by",
        "created_at",
    )
    list_filter = ("state", "priority", "node", "policy")
    search_fields = ("study_uid",)
    readonly_fields = (
        "study_uid",
        "node",
        "requested_by",
        "state",
        "progress",
        "error",
        "lease_holder",
        "lease_expires_at",
        "created_at",
        "started_at",
        "finished_at",
        "updated_at",
    )
    # Priority may be changed by hand (a running job reads it as its transfers end).
    fields = ("priority", "policy", "order", *readonly_fields)
    inlines = [UnfinishedTaskInline]
    actions = ["cancel_jobs", "retry_jobs"]

    def has_add_permission(self, request) -> bool:
        return False  # jobs come from the study list's Retrieve or the command line

    @admin.display(description=_("instances"))
    def progress(self, job: RetrieveJob) -> str:
        rows = series_progress(job).values()
        done = sum(row["done"] for row in rows)
        total = sum(row["total"] for row in rows)
        failed = sum(row["failed"] for row in rows)
        text = f"{done} / {total}" if total else "—"
        return f"{text} ({failed} failed)" if failed else text

    @admin.display(description=_("node slots"))
    def slots_held(self, job: RetrieveJob) -> str:
        """How many of its node's transfer slots the job holds now, of the node's limit."""
        if not job.is_active:
            return "—"
        held = NodeSlot.objects.filter(job=job, expires_at__gte=timezone.now()).count()
        return f"{held} / {job.node.max_transfers}"

    @admin.display(description=_("note"))
    def note(self, job: RetrieveJob) -> str:
        """The error's first line: why it failed, or (running) since when the node is down."""
        first = job.error.partition("\n")[0]
        return first if len(first) <= 160 else first[:159] + "…"

    @admin.action(description=_("Cancel the selected jobs"))
    def cancel_jobs(self, request, queryset) -> None:
        count = sum(cancel(job) for job in queryset)
        self.message_user(request, _("%(count)d jobs cancelled.") % {"count": count})

    @admin.action(description=_("Retry the selected jobs (fetch what is missing)"))
    def retry_jobs(self, request, queryset) -> None:
        count = sum(retry(job)[1] for job in queryset)
        self.message_user(request, _("%(count)d jobs queued again.") % {"count": count})
