"""Names in every character set Chinese (and other) hospitals send are stored as Unicode."""

import pydicom
import pytest
from pydicom.dataelem import DataElement

from tests.base import copy_with_new_uids, sample
from viewer.archive.importer import Importer
from viewer.archive.models import Patient
from viewer.archive.search import StudyQuery, search_studies

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("charset", "name"),
    [
        ("GB18030", "Wang^XiaoDong=王^小东"),
        ("GBK", "Li^Hua=李^华"),
        ("ISO_IR 192", "Zhao^Lei=赵^磊"),
        (["", "ISO 2022 IR 87"], "Yamada^Tarou=山田^太郎"),
        (["", "ISO 2022 IR 149"], "Hong^Gildong=洪^吉洞"),
        ("ISO_IR 100", "Buc^Jérôme"),
        ("ISO_IR 144", "Иванов^Пётр"),
        ("ISO_IR 126", "Παπαδόπουλος^Γιώργος"),
    ],
)
def test_a_name_in_each_charset_round_trips_and_is_found(tmp_path, charset, name):
    path = copy_with_new_uids(sample("CT_small.dcm"), tmp_path / "src.dcm", str(charset))
    dataset = pydicom.dcmread(path)
    dataset.SpecificCharacterSet = charset
    dataset.PatientName = name
    dataset.StudyDescription = name.split("=")[-1].replace("^", " ")
    dataset.save_as(path)
    report = Importer().run([path])
    assert report.imported == 1
    patient = Patient.objects.get()
    assert patient.patient_name == name
    given_name = name.split("=")[-1].split("^")[1]
    found = search_studies(StudyQuery(patient_name=given_name))
    assert [study.patient.patient_name for study in found] == [name]
    assert found[0].description == name.split("=")[-1].replace("^", " ")


@pytest.mark.parametrize(
    "raw",
    [
        # PS3.5 K.2's example: GB2312 designated into G1 before each ideographic group.
        b"Zhang^XiaoDong=\x1b$)A\xd5\xc5^\x1b$)A\xd0\xa1\xb6\xab=",
        # The same bytes without escape sequences, as some modalities write them.
        b"Zhang^XiaoDong=\xd5\xc5^\xd0\xa1\xb6\xab",
    ],
)
def test_iso_2022_ir_58_names_lose_their_escape_sequences(tmp_path, raw):
    path = copy_with_new_uids(sample("CT_small.dcm"), tmp_path / "ir58.dcm", "ir58")
    dataset = pydicom.dcmread(path)
    dataset.SpecificCharacterSet = ["", "ISO 2022 IR 58"]
    dataset["PatientName"] = DataElement(0x00100010, "PN", raw)
    dataset.save_as(path)
    Importer().run([path])
    assert Patient.objects.get().patient_name == "Zhang^XiaoDong=张^小东"
    assert search_studies(StudyQuery(patient_name="张")).count() == 1
