"""API tokens in the admin: staff make their own, superusers anyone's; the token text is
shown once, after saving; tokens are revoked, never edited or deleted."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from .models import ApiToken
from .tokens import revoke_token, save_new_token

_ALL_FIELDS = ("user", "name", "key_prefix", "created", "last_used", "expires", "revoked")


def _staff(request) -> bool:
    return request.user.is_active and request.user.is_staff


def _owns(request, token: ApiToken | None) -> bool:
    """Superusers see every token; other staff only their own."""
    return token is None or request.user.is_superuser or token.user_id == request.user.pk


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "key_prefix", "created", "last_used", "expires", "revoked")
    list_filter = (("revoked", admin.EmptyFieldListFilter), "expires")
    search_fields = ("name", "key_prefix", "user__username")
    actions = ["revoke_tokens"]
    autocomplete_fields = ("user",)

    # Any staff member manages their own tokens without being granted model permissions;
    # deleting is refused so the list keeps every token that ever worked.
    def has_module_permission(self, request) -> bool:
        return _staff(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return _staff(request) and _owns(request, obj)

    def has_add_permission(self, request) -> bool:
        return _staff(request)

    def has_change_permission(self, request, obj=None) -> bool:
        # "Change" is only revoking (the action); the form of a saved token is read-only.
        return _staff(request) and _owns(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        tokens = super().get_queryset(request).select_related("user")
        return tokens if request.user.is_superuser else tokens.filter(user=request.user)

    def get_fields(self, request, obj=None):
        if obj is not None:
            return _ALL_FIELDS
        # Staff other than superusers make tokens for themselves only: no user to choose.
        return ("user", "name", "expires") if request.user.is_superuser else ("name", "expires")

    def get_readonly_fields(self, request, obj=None):
        return _ALL_FIELDS if obj is not None else ()

    def get_changeform_initial_data(self, request) -> dict:
        return {"user": request.user.pk}

    def save_model(self, request, obj: ApiToken, form, change: bool) -> None:
        if change:
            return  # nothing on a saved token's form can change
        if not request.user.is_superuser:
            obj.user = request.user
        token_text = save_new_token(obj)
        # The only time the token text exists outside the client: it is not stored.
        messages.warning(
            request,
            _("API token “%(name)s”: %(token)s — copy it now, it will not be shown again.")
            % {"name": obj.name, "token": token_text},
        )

    @admin.action(description=_("Revoke the selected tokens"), permissions=["change"])
    def revoke_tokens(self, request, queryset) -> None:
        """Revoke each selected token that is not revoked yet."""
        revoked = sum(revoke_token(token) for token in queryset)
        self.message_user(request, _("%(count)d token(s) revoked.") % {"count": revoked})
