"""AuditEvent: who did what to which study, when and from where (PS3.15 A.5.3 events)."""

import ipaddress

from django.conf import settings
from django.db import models
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """One audited access; rows are only ever added, never changed."""

    LOGIN = "login"
    LOGIN_FAILED = "login-failed"
    LOGOUT = "logout"
    STUDY_OPENED = "study-opened"
    INSTANCES_ACCESSED = "instances-accessed"
    QUERY = "query"
    RETRIEVE_BEGAN = "retrieve-began"
    RETRIEVED = "instances-retrieved"
    EXPORTED = "instances-exported"
    IMPORTED = "instances-imported"
    NODE_CHANGED = "node-changed"
    USER_CHANGED = "user-changed"
    SECURITY_ALERT = "security-alert"
    APPLICATION_ACTIVITY = "application-activity"
    EVENTS = [
        (LOGIN, _("User Authentication: login")),
        (LOGIN_FAILED, _("User Authentication: failed login")),
        (LOGOUT, _("User Authentication: logout")),
        (STUDY_OPENED, _("DICOM Instances Accessed: study opened")),
        (INSTANCES_ACCESSED, _("DICOM Instances Accessed: images and tags read")),
        (QUERY, _("Query")),
        (RETRIEVE_BEGAN, _("Begin Transferring DICOM Instances: retrieve started")),
        (RETRIEVED, _("DICOM Instances Transferred: retrieved")),
        (EXPORTED, _("Data Export")),
        (IMPORTED, _("Data Import")),
        (NODE_CHANGED, _("Security Alert: node configuration changed")),
        (USER_CHANGED, _("Security Alert: user account or permissions changed")),
        (SECURITY_ALERT, _("Security Alert: sign-in locked out")),
        (APPLICATION_ACTIVITY, _("Application Activity: started or stopped")),
    ]
    SUCCESS, FAILURE = "success", "failure"

    timestamp = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    event = models.CharField(_("event"), max_length=32, choices=EVENTS, db_index=True)
    outcome = models.CharField(
        _("outcome"),
        max_length=8,
        choices=[(SUCCESS, _("success")), (FAILURE, _("failure"))],
        default=SUCCESS,
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # Kept as text too, so the trail still names the person after the account is gone.
    username = models.CharField(_("user name"), max_length=150, blank=True, db_index=True)
    # Who, when the actor is a DICOM peer rather than a person: its calling AE title.
    ae_title = models.CharField(_("AE title"), max_length=16, blank=True, db_index=True)
    study_uid = models.CharField(_("Study Instance UID"), max_length=64, blank=True, db_index=True)
    patient_id = models.CharField(_("Patient ID"), max_length=64, blank=True, db_index=True)
    # Reads are aggregated per user, study and minute (so pixel reads do not flood the
    # trail): how many accesses this row stands for.
    count = models.PositiveIntegerField(_("accesses"), default=1)
    remote_address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    detail = models.CharField(_("detail"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-timestamp", "-id"]

    def __str__(self) -> str:
        return f"{self.timestamp:%Y-%m-%d %H:%M:%S} {self.event} {self.username}"


def client_address(request: HttpRequest | None) -> str | None:
    """The peer address Django saw for ``request``, if any."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def ip_or_none(address: str | None) -> str | None:
    """``address`` as the column keeps it: an IP, or None for anything else."""
    # A peer seen as a name (a test double) keeps it in detail.
    try:
        return str(ipaddress.ip_address(address)) if address else None
    except ValueError:
        return None


def record(
    event: str,
    *,
    request: HttpRequest | None = None,
    user=None,
    username: str = "",
    study_uid: str = "",
    patient_id: str = "",
    ae_title: str = "",
    outcome: str = AuditEvent.SUCCESS,
    detail: str = "",
    address: str | None = None,
    count: int = 1,
) -> AuditEvent:
    """Add one event to the trail; the user and address come from ``request`` if given.

    ``address`` is the peer's IP where there is no HTTP request (a DICOM association);
    ``count`` how many accesses the row stands for (aggregated reads). The patient ID is
    looked up from the study when not given."""
    if user is None and request is not None and getattr(request, "user", None) is not None:
        user = request.user if request.user.is_authenticated else None
    if user is not None and not username:
        username = user.get_username()
    if study_uid and not patient_id:
        # What was accessed names the patient too (PS3.15's Patient participant object).
        from .details import patient_id_of

        patient_id = patient_id_of(study_uid)
    return AuditEvent.objects.create(
        event=event,
        outcome=outcome,
        user=user,
        username=username[:150],
        study_uid=study_uid[:64],
        patient_id=patient_id[:64],
        ae_title=ae_title.strip()[:16],
        remote_address=client_address(request) or ip_or_none(address),
        detail=detail[:500],
        count=count,
    )
