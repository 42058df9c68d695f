"""The study list's search form."""

from django import forms
from django.utils.translation import gettext_lazy as _

from viewer.archive.search import SORT_FIELDS, StudyQuery
from viewer.nodes.models import RemoteNode

_SORTS = [(name, name) for name in SORT_FIELDS] + [(f"-{name}", name) for name in SORT_FIELDS]


class StudySearchForm(forms.Form):
    """Validates the search parameters of the study list and the study API."""

    patient_name = forms.CharField(label=_("Patient name"), required=False, max_length=64)
    patient_id = forms.CharField(label=_("Patient ID"), required=False, max_length=64)
    accession_number = forms.CharField(label=_("Accession number"), required=False, max_length=64)
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    modality = forms.CharField(label=_("Modality"), required=False, max_length=16)
    sort = forms.ChoiceField(choices=_SORTS, required=False)
    source = forms.ChoiceField(label=_("Search in"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        nodes = RemoteNode.objects.filter(enabled=True)
        self.fields["source"].choices = [("local", _("Local archive"))] + [
            (str(node.pk), node.name) for node in nodes
        ]

    def remote_node(self) -> RemoteNode | None:
        """The node to search instead of the archive, if one was chosen."""
        source = self.cleaned_data.get("source") or "local"
        return None if source == "local" else RemoteNode.objects.get(pk=int(source))

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError(_("The start date is after the end date."))
        return cleaned

    def to_query(self) -> StudyQuery:
        """The validated parameters as a ``StudyQuery``; call after ``is_valid()``."""
        data = self.cleaned_data
        return StudyQuery(
            patient_name=data.get("patient_name") or "",
            patient_id=data.get("patient_id") or "",
            accession_number=data.get("accession_number") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            modality=data.get("modality") or "",
            sort=data.get("sort") or "-study_date",
        )
