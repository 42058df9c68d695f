"""App configuration: connects the audit trail's signal handlers."""

import logging

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ViewerConfig(AppConfig):
    name = "viewer"
    verbose_name = _("PACSweb")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import pydicom.config

        import viewer.audit.export_signals  # noqa: F401  (sends audit rows to syslog)
        from viewer.audit import signals  # noqa: F401  (connects handlers)

        # pydicom's warnings may quote element values (patient data); it resets its
        # logger to WARNING on import, so quieten it after that.
        logging.getLogger("pydicom").setLevel(logging.CRITICAL)
        pydicom.config.settings.reading_validation_mode = pydicom.config.IGNORE

        from django.conf import settings

        from viewer.imaging import frame_cache

        frame_cache.set_limit(
            settings.PACSWEB_FRAME_CACHE, settings.PACSWEB_FRAME_CACHE_MB * 1_000_000
        )
