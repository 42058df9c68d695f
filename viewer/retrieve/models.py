"""RetrieveJob and TransferTask: the durable state of bringing a remote study home."""

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
    POLICIES = [
        ("hybrid", _("hybrid")),
        ("breadth", _("breadth first")),
        ("depth", _("depth first")),
    ]
    ORDERS = [("sequential", _("sequential")), ("interleaved", _("interleaved"))]
    # Who is waiting decides who gets a node's slots first (higher first).
    BACKGROUND, REQUESTED, VIEWING = 0, 1, 2
    PRIORITIES = [
        (VIEWING, _("open in a viewer")),
        (REQUESTED, _("requested")),
        (BACKGROUND, _("background prefetch")),
    ]

    study_uid = models.CharField(_("Study Instance UID"), max_length=64, db_index=True)
    node = models.ForeignKey(RemoteNode, on_delete=models.PROTECT, related_name="jobs")
    state = models.CharField(_("state"), max_length=16, choices=STATES, default=QUEUED)
    policy = models.CharField(_("policy"), max_length=8, choices=POLICIES, default="hybrid")
    order = models.CharField(_("order"), max_length=12, choices=ORDERS, default="sequential")
    error = models.TextField(_("error"), blank=True)
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=PRIORITIES, default=REQUESTED, db_index=True
    )
    # How many of its node's slots the running job could use now: what the node's
    # other jobs read to share the slots (``slots.fair_shares``).
    wants_slots = models.PositiveSmallIntegerField(_("slots wanted"), default=0)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # The worker running the job and until when its claim holds; another worker may
    # take the job over once the lease has expired (the holder died).
    lease_holder = models.CharField(_("lease holder"), max_length=128, blank=True)
    lease_expires_at = models.DateTimeField(_("lease expires"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

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

    @property
    def is_active(self) -> bool:
        """Queued or running."""
        return self.state in self.ACTIVE


class TransferTask(models.Model):
    """One instance of a job: the job's contract, listed before anything is fetched."""

    PENDING, ACTIVE, DONE, PRESENT, FAILED = "pending", "active", "done", "present", "failed"
    STATES = [
        (PENDING, _("pending")),
        (ACTIVE, _("transferring")),
        (DONE, _("done")),
        (PRESENT, _("already in the archive")),
        (FAILED, _("failed")),
    ]
    FINISHED = (DONE, PRESENT)

    job = models.ForeignKey(RetrieveJob, on_delete=models.CASCADE, related_name="tasks")
    series_uid = models.CharField(_("Series Instance UID"), max_length=64)
    series_number = models.IntegerField(_("series number"), null=True, blank=True)
    series_description = models.CharField(_("series description"), max_length=64, blank=True)
    series_index = models.PositiveIntegerField(_("series order"), default=0)
    position = models.PositiveIntegerField(_("position in series"))
    sop_instance_uid = models.CharField(_("SOP Instance UID"), max_length=64)
    state = models.CharField(_("state"), max_length=8, choices=STATES, default=PENDING)
    bytes = models.BigIntegerField(_("bytes"), default=0)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    # The validator of a partly downloaded body, sent back in If-Range when resuming.
    etag = models.CharField(_("ETag"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("transfer task")
        verbose_name_plural = _("transfer tasks")
        ordering = ["job", "series_index", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["job", "sop_instance_uid"], name="one_task_per_instance"
            )
        ]

    def __str__(self) -> str:
        return f"{self.sop_instance_uid}: {self.state}"


class NodeSlot(models.Model):
    """One of a node's transfer slots: held by one job's transfer (or listing) at a time,
    so a node's limit holds across all its jobs and workers. Taken and given back with
    conditional updates; a holder that died loses it when ``expires_at`` passes."""

    node = models.ForeignKey(RemoteNode, on_delete=models.CASCADE, related_name="slots")
    number = models.PositiveSmallIntegerField(_("slot"))
    job = models.ForeignKey(
        RetrieveJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="slots"
    )
    holder = models.CharField(_("holder"), max_length=128, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)

    class Meta:
        verbose_name = _("node slot")
        verbose_name_plural = _("node slots")
        constraints = [
            models.UniqueConstraint(fields=["node", "number"], name="one_row_per_node_slot")
        ]

    def __str__(self) -> str:
        return f"{self.node_id}#{self.number}: {self.job_id or 'free'}"
