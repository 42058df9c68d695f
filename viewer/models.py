"""Collects each sub-package's models so Django finds them in the one app."""

from viewer.accounts.models import ApiToken, ExternalAccount  # noqa: F401
from viewer.archive.models import Instance, Patient, Series, Study  # noqa: F401
from viewer.audit.models import AuditEvent  # noqa: F401
from viewer.nodes.models import RemoteNode  # noqa: F401
from viewer.reading.models import HangingProtocol, Measurement  # noqa: F401
from viewer.retrieve.models import RetrieveJob, TransferTask  # noqa: F401
