"""Write the audit trail of a time range as DICOM audit messages, to stdout or to syslog.

Lets a site back-fill its audit record repository (``--format syslog``) or archive the
trail as one XML document of <AuditMessage> elements (``--format xml``, the default)."""

import xml.etree.ElementTree as ET
from datetime import datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from viewer.audit.atna import XML_DECLARATION, audit_element
from viewer.audit.export_signals import syslog_message
from viewer.audit.models import AuditEvent
from viewer.audit.syslog import SyslogSender, hostname, parse_collector


def _moment(value: str, option: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(
            f"{option} must be an ISO 8601 date or date-time, not {value!r}"
        ) from exc
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


def rows_between(since: datetime | None, until: datetime | None):
    """Trail rows with ``since <= timestamp < until``, oldest first."""
    rows = AuditEvent.objects.order_by("timestamp", "id")
    if since is not None:
        rows = rows.filter(timestamp__gte=since)
    if until is not None:
        rows = rows.filter(timestamp__lt=until)
    return rows


class Command(BaseCommand):
    help = "Write audit events in a time range as DICOM audit messages (XML or syslog)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--since", help="first moment, ISO 8601 (inclusive)")
        parser.add_argument("--until", help="last moment, ISO 8601 (exclusive)")
        parser.add_argument("--format", choices=["xml", "syslog"], default="xml")

    def handle(self, *args, **options) -> None:
        since = _moment(options["since"], "--since") if options["since"] else None
        until = _moment(options["until"], "--until") if options["until"] else None
        rows = rows_between(since, until)
        if options["format"] == "syslog":
            self._to_syslog(rows)
        else:
            self._to_stdout(rows)

    def _to_stdout(self, rows) -> None:
        write = self.stdout.write
        write(XML_DECLARATION.decode("ascii"))
        write("<AuditMessages>")
        host = hostname()
        for event in rows.iterator():
            element = audit_element(
                event,
                source_id=settings.PACSWEB_AUDIT_SOURCE_ID,
                enterprise_site=settings.PACSWEB_AUDIT_ENTERPRISE_SITE,
                ae_title=settings.PACSWEB_AE_TITLE,
                host=host,
            )
            write(ET.tostring(element, encoding="unicode"))
        write("</AuditMessages>")

    def _to_syslog(self, rows) -> None:
        if not settings.PACSWEB_AUDIT_SYSLOG:
            raise CommandError("PACSWEB_AUDIT_SYSLOG is not set: no collector to send to")
        sender = SyslogSender(
            parse_collector(settings.PACSWEB_AUDIT_SYSLOG),
            ca_file=settings.PACSWEB_AUDIT_SYSLOG_CA,
            cert_file=settings.PACSWEB_AUDIT_SYSLOG_CERT,
            key_file=settings.PACSWEB_AUDIT_SYSLOG_KEY,
            queue_size=settings.PACSWEB_AUDIT_SYSLOG_QUEUE,
        )
        queued = 0
        try:
            for event in rows.iterator():
                # A back-fill waits for the collector rather than dropping anything.
                if not sender.send(syslog_message(event), block=True, timeout=120):
                    raise CommandError(
                        f"syslog {sender.collector} took no message for two minutes; "
                        f"{queued} queued so far"
                    )
                queued += 1
            if not sender.flush(timeout=120):
                raise CommandError(f"syslog {sender.collector} did not take every message")
        finally:
            sender.close(timeout=5)
        self.stderr.write(f"{sender.sent} audit message(s) sent to {sender.collector}")
