"""Hand each new audit row to the syslog collector (PACSWEB_AUDIT_SYSLOG) once it is committed."""

import atexit
import logging
import threading

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from .atna import audit_message
from .models import AuditEvent
from .syslog import SyslogSender, hostname, parse_collector, procid, rfc5424_message

logger = logging.getLogger(__name__)

_senders: dict[tuple, SyslogSender] = {}
_senders_lock = threading.Lock()


def _configuration() -> tuple:
    return (
        settings.PACSWEB_AUDIT_SYSLOG,
        settings.PACSWEB_AUDIT_SYSLOG_CA,
        settings.PACSWEB_AUDIT_SYSLOG_CERT,
        settings.PACSWEB_AUDIT_SYSLOG_KEY,
        settings.PACSWEB_AUDIT_SYSLOG_QUEUE,
    )


def configured_sender() -> SyslogSender | None:
    """The process's sender for the configured collector, or None when export is off."""
    config = _configuration()
    if not config[0]:
        return None
    with _senders_lock:
        sender = _senders.get(config)
        if sender is None:
            url, ca_file, cert_file, key_file, queue_size = config
            sender = SyslogSender(
                parse_collector(url),
                ca_file=ca_file,
                cert_file=cert_file,
                key_file=key_file,
                queue_size=queue_size,
            )
            _senders[config] = sender
        return sender


def close_senders(timeout: float = 2.0) -> None:
    """Send what is queued (briefly) and stop every sender; at exit and after tests."""
    with _senders_lock:
        senders = list(_senders.values())
        _senders.clear()
    for sender in senders:
        sender.close(timeout)


atexit.register(close_senders)


def syslog_message(event: AuditEvent) -> bytes:
    """One trail row as the RFC 5424 message that carries its DICOM audit message."""
    xml = audit_message(
        event,
        source_id=settings.PACSWEB_AUDIT_SOURCE_ID,
        enterprise_site=settings.PACSWEB_AUDIT_ENTERPRISE_SITE,
        ae_title=settings.PACSWEB_AE_TITLE,
        host=hostname(),
    )
    return rfc5424_message(
        xml,
        failure=event.outcome == AuditEvent.FAILURE,
        timestamp=event.timestamp,
        hostname=hostname(),
        procid=procid(),
    )


def _hand_over(event: AuditEvent) -> None:
    # Runs after the commit, inside the request or the SCP handler: it must never raise.
    try:
        sender = configured_sender()
        if sender is not None:
            sender.send(syslog_message(event))
    except Exception:
        logger.exception("audit event %s could not be handed to syslog", event.pk)


@receiver(post_save, sender=AuditEvent, dispatch_uid="viewer.audit.export_to_syslog")
def export_to_syslog(sender, instance: AuditEvent, created: bool, using: str, **kwargs) -> None:
    """A new row goes to syslog once committed; a rolled-back one never leaves.

    Aggregated rows (one per user, study and minute) go out when created: the access is
    the audited fact, and a message sent at once is not lost if the process dies before
    the minute closes. Their later count updates are not re-sent."""
    if not created or not settings.PACSWEB_AUDIT_SYSLOG:
        return
    transaction.on_commit(lambda: _hand_over(instance), using=using)
