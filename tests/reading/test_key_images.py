"""Key images: marks kept as a DICOM Key Object Selection document in the archive."""

import io

import pydicom
import pytest
from django.contrib.auth import get_user_model
from pydicom.uid import generate_uid

from tests.base import file_dose_in
from tests.documents import foreign_kos
from viewer.archive.importer import Importer
from viewer.archive.models import Instance, Series, Study
from viewer.archive.storage import absolute_path, archive_files, storage_root
from viewer.reading import key_images as key_images_module
from viewer.reading.key_images import (
    KOS_SOP_CLASS,
    KeyImageError,
    author_series_uid,
    build_document,
    current_document,
    key_images,
    mark,
)

pytestmark = pytest.mark.django_db


def axial(index: int) -> Instance:
    found = Instance.objects.filter(series__description="Axial 5.0 mm").select_related("series")
    return found.order_by("instance_number")[index]


def documents() -> list[Instance]:
    return list(Instance.objects.filter(sop_class_uid=KOS_SOP_CLASS).select_related("series"))


def read(instance: Instance) -> pydicom.Dataset:
    return pydicom.dcmread(absolute_path(instance.file_path))


def image_items(dataset) -> list:
    return [i for i in dataset.ContentSequence if i.ValueType == "IMAGE"]


@pytest.fixture
def dose(small_ct, tmp_path) -> Instance:
    """A 15-frame image of the study's patient, filed in the thin series."""
    thin = Series.objects.get(description="Axial 1.0 mm")
    return file_dose_in(thin, tmp_path, "key images")


def images(found) -> list[str]:
    return [m.sop_instance_uid for m in found.mine]


def marks_of(instance: Instance) -> list[str]:
    return [
        i.ReferencedSOPSequence[0].ReferencedSOPInstanceUID for i in image_items(read(instance))
    ]


def test_it_saves_marks_as_a_key_object_selection_document(small_ct, alice):
    study = Study.objects.get()
    first, second = axial(3), axial(1)
    mark(alice, study, first.sop_instance_uid, 1, True)
    mark(alice, study, second.sop_instance_uid, 1, True)
    [stored] = documents()
    kos = read(stored)
    assert kos.SOPClassUID == KOS_SOP_CLASS
    assert kos.Modality == "KO"
    assert stored.series.series_uid == author_series_uid(study.study_uid, alice)
    assert stored.series.description == "Key images"
    title = kos.ConceptNameCodeSequence[0]
    assert (title.CodeValue, title.CodingSchemeDesignator) == ("113000", "DCM")
    # The images in the order they were marked.
    refs = [i.ReferencedSOPSequence[0] for i in image_items(kos)]
    assert [r.ReferencedSOPInstanceUID for r in refs] == [
        first.sop_instance_uid,
        second.sop_instance_uid,
    ]
    assert all("ReferencedFrameNumber" not in r for r in refs)
    assert refs[0].ReferencedSOPClassUID == first.sop_class_uid
    [evidence] = kos.CurrentRequestedProcedureEvidenceSequence
    assert evidence.StudyInstanceUID == study.study_uid
    [series] = evidence.ReferencedSeriesSequence
    assert series.SeriesInstanceUID == first.series.series_uid
    assert {r.ReferencedSOPInstanceUID for r in series.ReferencedSOPSequence} == {
        first.sop_instance_uid,
        second.sop_instance_uid,
    }
    observer = [i for i in kos.ContentSequence if i.ValueType == "PNAME"]
    assert str(observer[0].PersonName) == "alice^"


def test_it_copies_the_patient_and_study_from_the_studys_files(small_ct, alice):
    study = Study.objects.get()
    image = axial(2)
    mark(alice, study, image.sop_instance_uid, 1, True)
    kos, source = read(documents()[0]), read(image)
    for keyword in (
        "PatientName",
        "PatientID",
        "IssuerOfPatientID",
        "PatientBirthDate",
        "PatientSex",
        "StudyInstanceUID",
        "AccessionNumber",
        "StudyDate",
        "SpecificCharacterSet",
    ):
        assert kos.get(keyword) == source.get(keyword), keyword
    # The archive files it under the study's own patient.
    assert documents()[0].series.study == study


def test_it_names_the_frame_of_a_multi_frame_image(dose, alice):
    study = Study.objects.get()
    mark(alice, study, dose.sop_instance_uid, 7, True)
    mark(alice, study, dose.sop_instance_uid, 2, True)
    kos = read(documents()[0])
    frames = [i.ReferencedSOPSequence[0].ReferencedFrameNumber for i in image_items(kos)]
    assert frames == [7, 2]
    found = key_images(alice, study)
    assert [(m.sop_instance_uid, m.frame) for m in found.mine] == [
        (dose.sop_instance_uid, 7),
        (dose.sop_instance_uid, 2),
    ]


def test_it_refuses_a_frame_the_image_does_not_have(dose, alice):
    with pytest.raises(KeyImageError):
        mark(alice, Study.objects.get(), dose.sop_instance_uid, 16, True)
    assert documents() == []


def test_it_keeps_one_current_document_per_author(
    small_ct, alice, tmp_path, django_capture_on_commit_callbacks
):
    study = Study.objects.get()
    mark(alice, study, axial(0).sop_instance_uid, 1, True)
    [old] = documents()
    old_path = absolute_path(old.file_path)
    with django_capture_on_commit_callbacks(execute=True):
        mark(alice, study, axial(4).sop_instance_uid, 1, True)
    [new] = documents()
    assert new.sop_instance_uid != old.sop_instance_uid
    assert not old_path.exists()
    assert [
        i.ReferencedSOPSequence[0].ReferencedSOPInstanceUID for i in image_items(read(new))
    ] == [
        axial(0).sop_instance_uid,
        axial(4).sop_instance_uid,
    ]
    # Another person's marks are their own document beside it.
    bob = get_user_model().objects.create_user("bob")
    mark(bob, study, axial(1).sop_instance_uid, 1, True)
    assert len(documents()) == 2
    assert [m.sop_instance_uid for m in key_images(alice, study).mine] == [
        axial(0).sop_instance_uid,
        axial(4).sop_instance_uid,
    ]


def test_it_removes_an_unmarked_image_and_the_last_leaves_no_document(
    small_ct, alice, django_capture_on_commit_callbacks
):
    study = Study.objects.get()
    mark(alice, study, axial(0).sop_instance_uid, 1, True)
    mark(alice, study, axial(1).sop_instance_uid, 1, True)
    found = mark(alice, study, axial(0).sop_instance_uid, 1, False)
    assert [m.sop_instance_uid for m in found.mine] == [axial(1).sop_instance_uid]
    [kos] = documents()
    assert len(image_items(read(kos))) == 1
    path = absolute_path(kos.file_path)
    with django_capture_on_commit_callbacks(execute=True):
        mark(alice, study, axial(1).sop_instance_uid, 1, False)
    assert documents() == []
    assert not path.exists()
    assert not Series.objects.filter(series_uid=author_series_uid(study.study_uid, alice)).exists()
    study.refresh_from_db()
    assert study.num_instances == Instance.objects.count()


def test_it_changes_nothing_when_the_mark_is_already_so(small_ct, alice):
    study = Study.objects.get()
    mark(alice, study, axial(0).sop_instance_uid, 1, True)
    [before] = documents()
    mark(alice, study, axial(0).sop_instance_uid, 1, True)
    mark(alice, study, axial(2).sop_instance_uid, 1, False)
    assert documents() == [before]


def test_it_lists_a_foreign_document_and_counts_what_is_not_here(small_ct, alice):
    study = Study.objects.get()
    a, b = axial(4), axial(2)
    absent = [(a.sop_class_uid, generate_uid(entropy_srcs=["absent", str(n)])) for n in range(2)]
    references = [(a.sop_class_uid, a.sop_instance_uid), absent[0]]
    references += [(b.sop_class_uid, b.sop_instance_uid), absent[1]]
    content = foreign_kos(read(a), references, "foreign")
    report = Importer().run_contents([("foreign", content)])
    assert report.imported == 1
    found = key_images(alice, study)
    assert found.mine == []
    [document] = found.documents
    assert not document.mine
    assert [i.sop_instance_uid for i in document.images] == [a.sop_instance_uid, b.sop_instance_uid]
    assert [i.series_uid for i in document.images] == [a.series.series_uid] * 2
    assert document.missing == 2
    assert found.as_dict()["missing"] == 2
    assert [i["sop_instance_uid"] for i in found.as_dict()["images"]] == [
        a.sop_instance_uid,
        b.sop_instance_uid,
    ]


def test_it_takes_the_patient_from_the_first_marked_when_another_lacks_attributes(small_ct, alice):
    study = Study.objects.get()
    first, second = axial(3), axial(1)
    # The one highdicom would read first (archive order) has no StudyID or birth date.
    [earlier, _] = Instance.objects.filter(
        sop_instance_uid__in=[first.sop_instance_uid, second.sop_instance_uid]
    )
    assert earlier == second
    dataset = read(second)
    for keyword in ("StudyID", "PatientBirthDate"):
        if keyword in dataset:
            delattr(dataset, keyword)
    dataset.save_as(absolute_path(second.file_path))
    mark(alice, study, first.sop_instance_uid, 1, True)
    mark(alice, study, second.sop_instance_uid, 1, True)
    kos, source = read(documents()[0]), read(first)
    for keyword in ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyID"):
        assert kos.get(keyword) == source.get(keyword), keyword
    assert str(kos.PatientName) == study.patient.patient_name
    assert kos.PatientID == study.patient.patient_id


def test_it_never_replaces_a_document_from_another_installation(small_ct, alice, settings):
    study = Study.objects.get()
    own_secret = settings.SECRET_KEY
    # Site A's user with the same number and login; its document retrieved here.
    settings.SECRET_KEY = "another installation's secret"
    mark(alice, study, axial(0).sop_instance_uid, 1, True)
    [theirs] = documents()
    settings.SECRET_KEY = own_secret
    assert theirs.series.series_uid != author_series_uid(study.study_uid, alice)
    found = key_images(alice, study)
    assert found.mine == [] and not found.documents[0].mine
    mark(alice, study, axial(2).sop_instance_uid, 1, True)
    assert Instance.objects.filter(pk=theirs.pk).exists()
    assert absolute_path(theirs.file_path).exists()
    assert images(key_images(alice, study)) == [axial(2).sop_instance_uid]


@pytest.mark.parametrize("forged", ["login", "manufacturer"])
def test_it_never_replaces_a_document_in_its_series_that_is_not_provably_its_own(
    small_ct, alice, forged
):
    study = Study.objects.get()
    own_series = author_series_uid(study.study_uid, alice)
    image = axial(0)
    marked = [key_images_module.KeyImage(image.series.series_uid, image.sop_instance_uid)]
    if forged == "login":
        maker = get_user_model().objects.create_user("mallory")
        content = build_document(maker, study, marked, own_series)
    else:
        dataset = pydicom.dcmread(io.BytesIO(build_document(alice, study, marked, own_series)))
        dataset.Manufacturer = "Elsewhere"
        buffer = io.BytesIO()
        dataset.save_as(buffer, enforce_file_format=True)
        content = buffer.getvalue()
    assert Importer().run_contents([("node", content)]).imported == 1
    [foreign] = documents()
    assert foreign.series.series_uid == own_series
    found = key_images(alice, study)
    assert found.mine == [] and not found.documents[0].mine
    assert current_document(alice, study) is None
    mark(alice, study, axial(2).sop_instance_uid, 1, True)
    assert Instance.objects.filter(pk=foreign.pk).exists()
    assert absolute_path(foreign.file_path).exists()
    assert images(key_images(alice, study)) == [axial(2).sop_instance_uid]


def test_it_keeps_the_newest_own_document_current_when_an_older_comes_back(
    small_ct, alice, django_capture_on_commit_callbacks
):
    study = Study.objects.get()
    a, b, c = (axial(n).sop_instance_uid for n in (0, 1, 2))
    with django_capture_on_commit_callbacks(execute=True):
        mark(alice, study, a, 1, True)
        [older] = documents()
        content = absolute_path(older.file_path).read_bytes()
        mark(alice, study, b, 1, True)
    [newer] = documents()
    # The older document, sent to a node before, is retrieved back (stored after).
    assert Importer().run_contents([("node", content)]).imported == 1
    assert images(key_images(alice, study)) == [a, b]
    assert current_document(alice, study) == newer
    with django_capture_on_commit_callbacks(execute=True):
        mark(alice, study, c, 1, True)
    [current] = documents()
    assert marks_of(current) == [a, b, c]


def test_it_keeps_the_old_document_when_the_change_rolls_back(
    small_ct, alice, monkeypatch, django_capture_on_commit_callbacks
):
    study = Study.objects.get()
    mark(alice, study, axial(0).sop_instance_uid, 1, True)
    [old] = documents()
    real = key_images_module.remove_instance

    def removed_then_failed(sop_instance_uid):
        real(sop_instance_uid)
        raise RuntimeError("the commit fails")

    monkeypatch.setattr(key_images_module, "remove_instance", removed_then_failed)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        mark(alice, study, axial(1).sop_instance_uid, 1, True)
    assert documents() == [old]
    assert absolute_path(old.file_path).exists()
    # The new document's file went with its row: no file without one.
    indexed = set(Instance.objects.values_list("sop_instance_uid", flat=True))
    assert {path.stem for path in archive_files(storage_root())} == indexed
