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
