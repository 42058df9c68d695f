"""Collects each sub-package's admin registrations."""

from viewer.accounts import admin as accounts_admin  # noqa: F401
from viewer.archive import admin as archive_admin  # noqa: F401
from viewer.audit import admin as audit_admin  # noqa: F401
from viewer.nodes import admin as nodes_admin  # noqa: F401
from viewer.reading import admin as reading_admin  # noqa: F401
from viewer.retrieve import admin as retrieve_admin  # noqa: F401
