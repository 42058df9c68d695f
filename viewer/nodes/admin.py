"""RemoteNode in the admin: configure, verify (action and button), every change audited."""

import re

from django.contrib import admin, messages
from django.db import models
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.templatetags.static import static
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from viewer.audit.models import AuditEvent, record

from .models import RemoteNode
from .verification import verify_and_record

# Each protocol's own fields; the form shows one protocol's (both on a fresh add page).
PROTOCOL_FIELDSETS = {
    RemoteNode.DIMSE: (
        _("DIMSE"),
        {
            "classes": ("protocol-dimse",),
            "fields": (
                "ae_title",
                "host",
                "port",
                "calling_ae_title",
                "use_tls",
                "acse_timeout",
                "dimse_timeout",
            ),
        },
    ),
    RemoteNode.DICOMWEB: (
        _("DICOMweb"),
        {
            "classes": ("protocol-dicomweb",),
            "fields": ("dicomweb_url", "wado_uri_url", "file_url_template"),
        },
    ),
}
VERIFICATION_FIELDSET = (
    _("Verification"),
    {"fields": ("last_verified_at", "last_verify_ok", "last_verify_summary")},
)
RETRIEVE_METHODS = {
    RemoteNode.DIMSE: RemoteNode.DIMSE_METHODS,
    RemoteNode.DICOMWEB: RemoteNode.HTTP_METHODS,
}


@admin.register(RemoteNode)
class RemoteNodeAdmin(admin.ModelAdmin):
    # Few columns, so the list fits 1280 px beside the admin's sidebar and filters: the
    # address and retrieve method say the protocol, and one column says the verdict.
    list_display = (
        "name",
        "address",
        "retrieve_method",
        "enabled",
        "last_verification",
        "verify_button",
    )
    list_filter = ("protocol", "enabled", "last_verify_ok")
    search_fields = ("name", "ae_title", "host", "dicomweb_url")
    actions = ["verify_nodes"]
    readonly_fields = ("last_verified_at", "last_verify_ok", "last_verify_summary")
    change_form_template = "admin/nodes/remotenode/change_form.html"
    # A DICOMweb URL typed without a scheme means HTTPS (Django 6's default, taken now).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    class Media:
        css = {"all": ["nodes/remotenode-admin.css"]}
        js = ["nodes/remotenode-admin.js"]

    def get_fieldsets(self, request, obj=None):
        """The shared fields and the fieldset of the protocol shown (both if undecided)."""
        shown = _protocol_shown(request, obj)
        return [
            (None, {"fields": ("name", "enabled", "protocol", "launch_order")}),
            *(
                fieldset
                for protocol, fieldset in PROTOCOL_FIELDSETS.items()
                if shown in (None, protocol)
            ),
            # What to ask for concerns both protocols' retrieves (WADO-RS/URI, C-GET).
            (
                _("Transfers"),
                {
                    "fields": (
                        "retrieve_method",
                        "ask_for",
                        "transfer_syntax_uid",
                        "max_transfers",
                    )
                },
            ),
            (_("Timeouts"), {"fields": ("connect_timeout", "network_timeout")}),
            *([VERIFICATION_FIELDSET] if obj is not None else []),  # a new node has none
        ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        # Only the retrieve methods of the protocol shown (grouped by protocol if both).
        form = super().get_form(request, obj, change, **kwargs)
        # A post without these (an older form, a script) keeps the model's defaults.
        for name in ("ask_for", "launch_order"):
            if name in form.base_fields:
                form.base_fields[name].required = False
        if "retrieve_method" in form.base_fields:
            form.base_fields["retrieve_method"].choices = _retrieve_choices(
                _protocol_shown(request, obj)
            )
        return form

    @admin.display(description=_("address"))
    def address(self, node: RemoteNode) -> str:
        # Line breaks are best after "@" and a path's "/", before anywhere (see the CSS).
        parts = re.split(r"(?<=@)|(?<=/)(?=[^/])", node.address)
        return format_html_join(mark_safe("<wbr>"), "{}", ((part,) for part in parts))

    @admin.display(description=_("last verification"), ordering="last_verified_at")
    def last_verification(self, node: RemoteNode) -> str:
        # The verdict as the admin's own icons, then when: one column instead of two.
        if node.last_verified_at is None:
            return self.get_empty_value_display()
        passed = bool(node.last_verify_ok)
        return format_html(
            '<img src="{}" alt="{}"> {}',
            static("admin/img/icon-yes.svg" if passed else "admin/img/icon-no.svg"),
            _("passed") if passed else _("failed"),
            formats.localize(timezone.template_localtime(node.last_verified_at)),
        )

    @admin.display(description=_("Verify"))
    def verify_button(self, node: RemoteNode) -> str:
        # Inside the change list's own form (which carries the CSRF token): the button
        # posts that form to the verify URL instead.
        url = reverse("admin:viewer_remotenode_verify", args=[node.pk])
        return format_html(
            '<button type="submit" class="button verify-node" formaction="{}" formmethod="post">'
            "{}</button>",
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
        levels = {True: messages.SUCCESS, False: messages.ERROR, None: messages.WARNING}
        for step in result.steps:  # one line each, so the admin shows them as a list
            self.message_user(request, f"{node.name} · {step}", levels[step.ok])

    def save_model(self, request, obj, form, change) -> None:
        if obj.launch_order is None:  # left empty: not required, so the default
            obj.launch_order = RemoteNode._meta.get_field("launch_order").default
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


def _protocol_shown(request, node: RemoteNode | None) -> str | None:
    """The protocol whose fields the form has: as posted, else the node's; None for both."""
    # Posted first: a node saved with a new protocol gets that protocol's fields (and
    # their errors) back, with or without scripts.
    posted = request.POST.get("protocol") if request.method == "POST" else None
    if posted in PROTOCOL_FIELDSETS:
        return posted
    return node.protocol if node is not None else None


def _retrieve_choices(protocol: str | None) -> list:
    """The retrieve methods of ``protocol``, or all of them grouped by protocol."""
    labels = dict(RemoteNode._meta.get_field("retrieve_method").choices)
    if protocol is not None:
        return [(method, labels[method]) for method in RETRIEVE_METHODS[protocol]]
    names = dict(RemoteNode._meta.get_field("protocol").choices)
    return [
        (names[protocol], [(method, labels[method]) for method in methods])
        for protocol, methods in RETRIEVE_METHODS.items()
    ]
