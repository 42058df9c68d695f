"""Hanging protocols and measurements in the admin."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import HangingProtocol, Measurement


@admin.register(HangingProtocol)
class HangingProtocolAdmin(admin.ModelAdmin):
    list_display = ("name", "enabled", "priority", "modality", "study_description", "layout")
    list_filter = ("enabled", "modality")
    search_fields = ("name", "study_description")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "name",
                    "enabled",
                    "priority",
                    "modality",
                    "body_part",
                    "study_description",
                    "min_series",
                    "layout",
                    "rules",
                )
            },
        ),
        (_("Narrow screen (phone)"), {"fields": ("narrow_layout", "narrow_viewports")}),
    )


@admin.register(Measurement)
class MeasurementAdmin(admin.ModelAdmin):
    list_display = ("kind", "owner", "study_uid", "sop_instance_uid", "shared", "updated_at")
    list_filter = ("kind", "shared")
    search_fields = ("study_uid", "sop_instance_uid", "owner__username")
    readonly_fields = ("owner", "study_uid", "series_uid", "sop_instance_uid", "frame", "points")
