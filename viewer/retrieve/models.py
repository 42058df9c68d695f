"""RetrieveJob: a request to bring one remote study into the archive."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from viewer.nodes.models import RemoteNode


class RetrieveJob(models.Model):
    """One study from one node; at most one active job per study, however many ask."""

    QUEUED, RUNNING, DONE, PARTIAL, FAILED, CANCELLED = (
        "queued",
        "running",
        "done",
        "partial",
        "failed",
        "cancelled",
    )
    STATES = [
        (QUEUED, _("queued")),
        (RUNNING, _("running")),
        (DONE, _("done")),
        (PARTIAL, _("completed with failures")),
        (FAILED, _("failed")),
        (CANCELLED, _("cancelled")),
    ]
    ACTIVE = (QUEUED, RUNNING)

    study_uid = models.CharField(_("Study Instance UID"), max_length=64, db_index=True)
    node = models.ForeignKey(RemoteNode, on_delete=models.PROTECT, related_name="jobs")
    state = models.CharField(_("state"), max_length=16, choices=STATES, default=QUEUED)
    error = models.TextField(_("error"), blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("retrieve job")
        verbose_name_plural = _("retrieve jobs")
        ordering = ["-created_at"]
        constraints = [
            # The database, not a check-then-insert, keeps one active job per study.
            models.UniqueConstraint(
                fields=["study_uid"],
                condition=models.Q(state__in=["queued", "running"]),
                name="one_active_job_per_study",
            )
        ]

    def __str__(self) -> str:
        return f"{self.study_uid} from {self.node.name}: {self.state}"
