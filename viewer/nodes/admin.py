"""RemoteNode in the admin: configure, verify (action and button), every change audited."""

from django.contrib import admin, messages
from django.db import models
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _

from viewer.audit.models import AuditEvent, record

from .models import RemoteNode
from .verification import verify_and_record


@admin.register(RemoteNode)
class RemoteNodeAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "ae_title",
        "host",
        "port",
        "protocol",
        "retrieve_method",
        "enabled",
        "last_verify_ok",
        "last_verified_at",
        "verify_button",
    )
    list_filter = ("protocol", "enabled", "last_verify_ok")
    search_fields = ("name", "ae_title", "host")
    actions = ["verify_nodes"]
    readonly_fields = ("last_verified_at", "last_verify_ok", "last_verify_summary")
    change_form_template = "admin/nodes/remotenode/change_form.html"
    # A DICOMweb URL typed without a scheme means HTTPS (Django 6's default, taken now).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = [
        (None, {"fields": ("name", "enabled", "protocol")}),
        (_("DIMSE"), {"fields": ("ae_title", "host", "port", "calling_ae_title", "use_tls")}),
        (_("DICOMweb"), {"fields": ("dicomweb_url", "wado_uri_url", "file_url_template")}),
        (_("Transfers"), {"fields": ("retrieve_method", "max_transfers")}),
        (
            _("Timeouts"),
            {"fields": ("connect_timeout", "acse_timeout", "dimse_timeout", "network_timeout")},
        ),
        (
            _("Verification"),
            {"fields": ("last_verified_at", "last_verify_ok", "last_verify_summary")},
        ),
    ]

    @admin.display(description=_("Verify"))
    def verify_button(self, node: RemoteNode) -> str:
        # Inside the change list's own form (which carries the CSRF token): the button
        # posts that form to the verify URL instead.
        url = reverse("admin:viewer_remotenode_verify", args=[node.pk])
        return format_html(
            '<button type="submit" class="button" formaction="{}" formmethod="post">{}</button>',
            url,
            _("Verify"),
        )

    def get_urls(self):
        return [
            path(
                "<int:node_id>/verify/",
                self.admin_site.admin_view(self.verify_view),
                name="viewer_remotenode_verify",
            ),
            *super().get_urls(),
        ]

    def verify_view(self, request, node_id: int):
        """Verify one node (POST only: it changes the node) and go back to where it started."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        node = get_object_or_404(RemoteNode, pk=node_id)
        if not self.has_view_permission(request, node):
            return redirect("admin:index")
        self._verify(request, node)
        target = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            target = ""
        return redirect(target or "admin:viewer_remotenode_changelist")

    @admin.action(description=_("Verify the selected nodes (C-ECHO, C-FIND, C-MOVE)"))
    def verify_nodes(self, request, queryset) -> None:
        for node in queryset:
            self._verify(request, node)

    def _verify(self, request, node: RemoteNode) -> None:
        result = verify_and_record(node)
        verdict = _("passed") if result.ok else _("failed")
        self.message_user(
            request, f"{node.name}: {verdict}", messages.SUCCESS if result.ok else messages.ERROR
        )
        for step in result.steps:  # one line each, so the admin shows them as a list
            self.message_user(
                request, f"{node.name} · {step}", messages.SUCCESS if step.ok else messages.ERROR
            )

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        detail = (
            f"{obj.name} changed: {', '.join(form.changed_data)}"
            if change
            else (f"{obj.name} added")
        )
        record(AuditEvent.NODE_CHANGED, request=request, detail=detail)

    def delete_model(self, request, obj) -> None:
        record(AuditEvent.NODE_CHANGED, request=request, detail=f"{obj.name} deleted")
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset) -> None:
        for node in queryset:
            record(AuditEvent.NODE_CHANGED, request=request, detail=f"{node.name} deleted")
        super().delete_queryset(request, queryset)
