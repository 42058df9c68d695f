"""RemoteNode: a PACS or modality we talk to, and how."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from .validators import validate_ae_title, validate_transfer_syntax_uid

# Lossless compressed, in the order we prefer them: JPEG-LS, JPEG 2000, RLE.
LOSSLESS_COMPRESSED = ("1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.5")


class RemoteNode(models.Model):
    """A configured DICOM peer (DIMSE) or DICOMweb server."""

    DIMSE, DICOMWEB = "dimse", "dicomweb"
    C_GET, C_MOVE, WADO_RS, WADO_URI, FILE_URL = (
        "c-get",
        "c-move",
        "wado-rs",
        "wado-uri",
        "file-url",
    )
    AS_STORED, LOSSLESS, EXPLICIT = "stored", "lossless", "explicit"
    DIMSE_METHODS = (C_GET, C_MOVE)
    HTTP_METHODS = (WADO_RS, WADO_URI, FILE_URL)

    name = models.CharField(_("name"), max_length=64, unique=True)
    ae_title = models.CharField(
        _("AE title"), max_length=16, validators=[validate_ae_title], blank=True
    )
    host = models.CharField(_("host"), max_length=255, blank=True)
    port = models.PositiveIntegerField(
        _("port"), default=104, validators=[MinValueValidator(1), MaxValueValidator(65535)]
    )
    protocol = models.CharField(
        _("protocol"),
        max_length=8,
        choices=[(DIMSE, "DIMSE"), (DICOMWEB, "DICOMweb")],
        default=DIMSE,
    )
    dicomweb_url = models.URLField(_("DICOMweb base URL"), blank=True)
    wado_uri_url = models.URLField(
        _("WADO-URI URL"),
        blank=True,
        help_text=_("The WADO-URI endpoint, e.g. http://pacs/wado; empty uses the base URL."),
    )
    file_url_template = models.CharField(
        _("file URL template"),
        max_length=500,
        blank=True,
        help_text=_("For plain file URLs: {study}, {series} and {instance} become the UIDs."),
    )
    retrieve_method = models.CharField(
        _("retrieve method"),
        max_length=8,
        choices=[
            (C_GET, "C-GET"),
            (C_MOVE, "C-MOVE"),
            (WADO_RS, "WADO-RS"),
            (WADO_URI, "WADO-URI"),
            (FILE_URL, _("file URL")),
        ],
        default=C_MOVE,
    )
    ask_for = models.CharField(
        _("ask for"),
        max_length=8,
        choices=[
            (AS_STORED, _("as stored")),
            (LOSSLESS, _("lossless compressed")),
            (EXPLICIT, _("an explicit transfer syntax")),
        ],
        default=LOSSLESS,
        help_text=_(
            "Lossless compressed asks for JPEG-LS, JPEG 2000 or RLE lossless (fewer bytes, the "
            "same pixels) and takes the images as stored where the node cannot."
        ),
    )
    transfer_syntax_uid = models.CharField(
        _("transfer syntax UID"),
        max_length=64,
        blank=True,
        validators=[validate_transfer_syntax_uid],
        help_text=_("Only for an explicit transfer syntax, e.g. 1.2.840.10008.1.2.4.80."),
    )
    max_transfers = models.PositiveSmallIntegerField(
        _("maximum concurrent transfers"),
        default=4,
        validators=[MinValueValidator(1), MaxValueValidator(64)],
    )
    connect_timeout = models.FloatField(_("connect timeout (s)"), default=5)
    acse_timeout = models.FloatField(_("ACSE timeout (s)"), default=10)
    dimse_timeout = models.FloatField(_("DIMSE timeout (s)"), default=30)
    network_timeout = models.FloatField(_("network timeout (s)"), default=60)
    calling_ae_title = models.CharField(
        _("calling AE title"),
        max_length=16,
        blank=True,
        validators=[validate_ae_title],
        help_text=_("The AE title we present to this node; empty uses our own."),
    )
    use_tls = models.BooleanField(_("TLS"), default=False)
    enabled = models.BooleanField(_("enabled"), default=True)
    launch_order = models.PositiveSmallIntegerField(
        _("launch order"),
        default=100,
        help_text=_(
            "Nodes are asked in this order when a launch URL names a study not in the "
            "archive; lower first."
        ),
    )
    last_verified_at = models.DateTimeField(_("last verified"), null=True, blank=True)
    last_verify_ok = models.BooleanField(_("last verification passed"), null=True, blank=True)
    last_verify_summary = models.TextField(_("last verification"), blank=True)

    # In memory only: set when the node refused a compressed request, so the rest of the
    # job asks for the images as stored (a new job asks again).
    compression_refused = False

    class Meta:
        verbose_name = _("remote node")
        verbose_name_plural = _("remote nodes")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.address})"

    @property
    def address(self) -> str:
        """Where the node listens: ``AE@host:port`` for DIMSE, the base URL for DICOMweb."""
        if self.protocol == self.DICOMWEB:
            return self.dicomweb_url
        return f"{self.ae_title}@{self.host}:{self.port}"

    @property
    def our_ae_title(self) -> str:
        """The calling AE title for associations with this node."""
        return self.calling_ae_title or settings.PACSWEB_AE_TITLE

    def wanted_transfer_syntaxes(self) -> tuple[str, ...]:
        """The transfer syntaxes to ask for, best first; empty means as stored."""
        if self.compression_refused or self.ask_for == self.AS_STORED:
            return ()
        if self.ask_for == self.EXPLICIT:
            return (self.transfer_syntax_uid,) if self.transfer_syntax_uid else ()
        return LOSSLESS_COMPRESSED

    def clean(self) -> None:
        """A DIMSE node needs an AE title and host; a DICOMweb node needs its URL."""
        from django.core.exceptions import ValidationError

        errors = {}
        if self.protocol == self.DIMSE:
            if not self.ae_title:
                errors["ae_title"] = _("A DIMSE node needs its AE title.")
            if not self.host:
                errors["host"] = _("A DIMSE node needs a host.")
            if self.retrieve_method in self.HTTP_METHODS:
                errors["retrieve_method"] = _("A DIMSE node retrieves with C-GET or C-MOVE.")
        else:
            if not self.dicomweb_url:
                errors["dicomweb_url"] = _("A DICOMweb node needs its base URL.")
            if self.retrieve_method not in self.HTTP_METHODS:
                errors["retrieve_method"] = _("A DICOMweb node retrieves over HTTP.")
            if self.retrieve_method == self.FILE_URL and "{instance}" not in self.file_url_template:
                errors["file_url_template"] = _("The template must contain {instance}.")
        if self.ask_for == self.EXPLICIT and not self.transfer_syntax_uid:
            errors["transfer_syntax_uid"] = _(
                "Asking for an explicit transfer syntax needs its UID."
            )
        if errors:
            raise ValidationError(errors)
