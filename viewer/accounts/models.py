"""ExternalAccount: which outside identity (a directory entry, a provider's subject) a
PACSweb account belongs to, so one sign-in method cannot take over another's account."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

LDAP_SOURCE = "ldap"


class ExternalAccount(models.Model):
    """The identity that created a PACSweb account by signing in; only it signs in there.

    User names are not identities: a provider may let its users rename themselves
    (OpenID Connect Core 5.7: only issuer and ``sub`` identify someone), and a
    directory and a provider may both have a "drsmith".
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="external_account",
        verbose_name=_("user"),
    )
    # "ldap", or the OpenID Connect issuer's URL.
    source = models.CharField(_("source"), max_length=255)
    # The directory entry's DN, lower-cased, or the provider's "sub" (at most 255 ASCII
    # characters by the standard); DNs in deep Active Directory trees can be longer.
    subject = models.CharField(_("subject"), max_length=1024)
    created = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("external account")
        verbose_name_plural = _("external accounts")
        constraints = [
            models.UniqueConstraint(
                fields=["source", "subject"], name="external_account_source_subject"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.subject}"


class ApiToken(models.Model):
    """A personal API token for machines (DICOMweb clients): only its SHA-256 is kept.

    The token text is shown once when it is made; a lost token is revoked and replaced.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        verbose_name=_("user"),
    )
    # What it is for, e.g. "OHIF on ward 3": how its owner tells tokens apart.
    name = models.CharField(_("name"), max_length=100)
    # The token's start ("pwt_" and 8 random characters), shown in lists; not secret.
    key_prefix = models.CharField(_("prefix"), max_length=16, editable=False)
    # SHA-256 (hex) of the whole token text. A token carries 256 random bits, so a fast
    # hash is enough: there is no password to guess from it.
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    last_used = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    expires = models.DateTimeField(_("expires"), null=True, blank=True)
    revoked = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…)"
