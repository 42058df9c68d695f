"""Reports and documents: a PDF served for the browser's viewer, an SR shown as a report."""

import io
import re

import pytest
from PIL import Image

from tests.documents import encapsulated_pdf, pdf_bytes
from tests.reading.test_export import axial, measure
from viewer.archive.importer import Importer
from viewer.archive.models import Instance, Series, Study
from viewer.archive.storage import absolute_path
from viewer.audit.models import AuditEvent
from viewer.reading.sr import export_sr

pytestmark = pytest.mark.django_db


def import_files(*paths) -> None:
    report = Importer().run(list(paths))
    assert not report.rejected, report.rejected


@pytest.fixture
def pdf(small_ct, tmp_path) -> tuple[Instance, bytes]:
    """A PDF (odd length, so padded in DICOM) filed in the small CT's study."""
    content = pdf_bytes()
    assert len(content) % 2 == 1
    path = encapsulated_pdf(tmp_path / "pdf.dcm", absolute_path(axial().file_path), "t", content)
    import_files(path)
    return Instance.objects.get(series__modality="DOC"), content


@pytest.fixture
def sr(small_ct, alice, tmp_path) -> Instance:
    """Our own SR export of a length on the small CT, imported back into the archive."""
    image = axial()
    measure(alice, image, "length", [[10.0, 20.0], [40.0, 60.0]], label="lesion 1")
    path = tmp_path / "sr.dcm"
    path.write_bytes(export_sr(alice, Study.objects.get()))
    import_files(path)
    return Instance.objects.get(series__modality="SR")


def url(instance: Instance, tail: str = "") -> str:
    study = instance.series.study.study_uid
    return f"/studies/{study}/documents/{instance.sop_instance_uid}/{tail}"


def test_the_pdf_is_served_byte_for_byte_inline(alice_client, pdf):
    instance, content = pdf
    response = alice_client.get(url(instance, "document.pdf"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline;")
    assert response["X-Content-Type-Options"] == "nosniff"
    # The viewer shows it in an <object> of its own page.
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert response.content == content


def test_reading_the_pdf_is_audited(alice_client, alice, pdf):
    instance, _ = pdf
    alice_client.get(url(instance, "document.pdf"))
    event = AuditEvent.objects.get(event=AuditEvent.STUDY_OPENED)
    assert (event.user, event.study_uid, event.detail) == (
        alice,
        instance.series.study.study_uid,
        "PDF",
    )


def test_an_instance_that_is_no_pdf_is_not_found(alice_client, pdf, sr):
    assert alice_client.get(url(axial(), "document.pdf")).status_code == 404
    assert alice_client.get(url(sr, "document.pdf")).status_code == 404
    assert alice_client.get(url(axial())).status_code == 404


def test_a_pdf_of_another_mime_type_is_not_served(alice_client, small_ct, tmp_path):
    path = encapsulated_pdf(
        tmp_path / "cda.dcm", absolute_path(axial().file_path), "x", b"<xml/>", "text/xml"
    )
    import_files(path)
    assert (
        alice_client.get(
            url(Instance.objects.get(series__modality="DOC"), "document.pdf")
        ).status_code
        == 404
    )


def test_documents_need_a_signed_in_user(client, pdf, sr):
    instance, _ = pdf
    for target in (url(instance, "document.pdf"), url(instance), url(sr), url(sr, "panel/")):
        response = client.get(target)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_pdf_panel_embeds_the_served_pdf(alice_client, pdf):
    instance, _ = pdf
    page = alice_client.get(url(instance, "panel/")).content.decode()
    served = url(instance, "document.pdf")
    assert f'<object class="document-pdf" data="{served}" type="application/pdf"' in page
    # Who it belongs to stays in sight, and no audit for the frame around the PDF.
    assert "Zhang Wei = 张 伟" in page and "PW-DEMO-0001" in page
    assert not AuditEvent.objects.filter(event=AuditEvent.STUDY_OPENED).exists()


def test_our_sr_reads_back_as_a_table_with_a_link_to_its_image(alice_client, sr):
    image = axial()
    response = alice_client.get(url(sr, "panel/"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Imaging Measurement Report" in page
    [row] = re.findall(r"<tr>\s*<td[^>]*>lesion 1</td>.*?</tr>", page, re.S)
    assert re.search(r">Length<.*>\d+\.\d{1,2}<.*>mm<", row, re.S)
    link = f'href="/studies/{image.series.study.study_uid}/view/?series={image.series.series_uid}"'
    assert link in row and f'data-sop-instance-uid="{image.sop_instance_uid}"' in row
    event = AuditEvent.objects.get(event=AuditEvent.STUDY_OPENED)
    assert event.detail == "SR report"


def test_the_report_page_of_its_own_keeps_the_patient_banner(alice_client, sr):
    page = alice_client.get(url(sr)).content.decode()
    assert 'class="patient-name">Zhang Wei = 张 伟<' in page
    assert 'class="patient-id">PW-DEMO-0001<' in page
    assert "report-measurements" in page


def test_a_damaged_sr_says_so(alice_client, sr):
    path = absolute_path(sr.file_path)
    path.write_bytes(path.read_bytes()[:300])
    response = alice_client.get(url(sr, "panel/"))
    assert response.status_code == 422 and "cannot be read" in response.content.decode()


def test_a_document_series_has_an_icon_not_a_broken_thumbnail(alice_client, pdf, sr):
    for modality in ("DOC", "SR"):
        series = Series.objects.get(modality=modality)
        response = alice_client.get(
            f"/studies/{series.study.study_uid}/series/{series.series_uid}/thumbnail.png"
        )
        assert response.status_code == 200 and response["Content-Type"] == "image/png"
        assert Image.open(io.BytesIO(response.content)).size == (128, 128)


def test_the_viewer_lists_documents_in_the_strip_and_not_as_series(alice_client, pdf, sr):
    instance, _ = pdf
    study = Study.objects.get()
    page = alice_client.get(f"/studies/{study.study_uid}/view/").content.decode()
    strip = page.split('class="series-strip"')[1].split("</nav>")[0]
    buttons = re.findall(
        r'<button type="button" draggable="true" data-series-uid="([0-9.]+)"', strip
    )
    assert instance.series.series_uid not in buttons and sr.series.series_uid not in buttons
    assert len(buttons) == 4  # the CT's own series
    assert f'data-document="pdf" data-panel-url="{url(instance, "panel/")}"' in strip
    assert f'data-document="sr" data-panel-url="{url(sr, "panel/")}"' in strip
    # No hanging protocol puts a report in a viewport.
    assert sr.series.series_uid not in page.split('id="hangings"')[1]


def test_the_study_page_shows_documents_with_an_icon(alice_client, pdf, sr):
    instance, _ = pdf
    page = alice_client.get(f"/studies/{Study.objects.get().study_uid}/").content.decode()
    assert f'href="{url(instance)}"' in page and f'href="{url(sr)}"' in page
    for series in (instance.series, sr.series):
        assert f"/series/{series.series_uid}/thumbnail.png" not in page
