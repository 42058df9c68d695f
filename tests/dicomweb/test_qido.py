"""QIDO-RS: query strings to identifiers, and the search endpoints as clients use them."""

from urllib.parse import parse_qs

import pytest

from tests.base import sample
from viewer.archive.importer import Importer
from viewer.archive.models import Instance, Series, Study
from viewer.audit.models import AuditEvent
from viewer.demo.ct_study import study_uid as demo_study_uid
from viewer.demo.samples import write_charset_samples
from viewer.dicomweb import qido
from viewer.nodes.qr import QueryError

DEMO_STUDY = demo_study_uid()  # the small CT: Zhang^Wei=张^伟, 4 series, 23 images
BASE = "http://testserver/dicom-web"

PATIENT_NAME, PATIENT_ID, STUDY_DATE = "00100010", "00100020", "00080020"
STUDY_UID, SERIES_UID, SOP_UID = "0020000D", "0020000E", "00080018"
RETRIEVE_URL, MODALITIES = "00081190", "00080061"


def identifier(query: str, level: str = qido.STUDY, **path_uids):
    return qido.identifier_from_query(level, parse_qs(query, keep_blank_values=True), path_uids)


def values(result: dict, tag: str) -> list:
    return result.get(tag, {}).get("Value", [])


# identifier_from_query, paging: no database


def test_it_reads_keywords_and_tags_as_matching_keys():
    found = identifier("PatientName=wang*&00100020=PW-1&StudyDate=20240101-20241231")
    assert found.PatientName == "wang*"
    assert found.PatientID == "PW-1"
    assert found.StudyDate == "20240101-20241231"
    assert found.QueryRetrieveLevel == "STUDY"


def test_it_adds_the_default_study_return_keys_empty():
    found = identifier("")
    for keyword in ("StudyInstanceUID", "PatientName", "ModalitiesInStudy", "AccessionNumber"):
        assert keyword in found and found[keyword].value in ("", None)
    assert "SeriesInstanceUID" not in found


def test_it_adds_study_and_series_defaults_to_an_unscoped_instance_search():
    unscoped = identifier("", qido.IMAGE)
    assert {"PatientName", "Modality", "Rows", "SOPInstanceUID"} <= set(unscoped.dir())
    scoped = identifier("", qido.IMAGE, StudyInstanceUID="1.2.3", SeriesInstanceUID="1.2.3.4")
    assert "PatientName" not in scoped and "Modality" not in scoped
    assert scoped.StudyInstanceUID == "1.2.3" and scoped.SeriesInstanceUID == "1.2.3.4"


def test_it_takes_includefield_repeated_comma_separated_keyword_or_tag():
    found = identifier("includefield=BodyPartExamined,00081030&includefield=IssuerOfPatientID")
    assert {"BodyPartExamined", "StudyDescription", "IssuerOfPatientID"} <= set(found.dir())


def test_it_takes_includefield_all_as_everything_the_archive_knows():
    found = identifier("includefield=all", qido.SERIES)
    assert {"BodyPartExamined", "IssuerOfPatientID", "PatientBirthDate"} <= set(found.dir())


def test_it_takes_uid_lists_comma_separated_or_repeated():
    found = identifier("StudyInstanceUID=1.2.3,1.2.4&StudyInstanceUID=1.2.5")
    assert list(found.StudyInstanceUID) == ["1.2.3", "1.2.4", "1.2.5"]


@pytest.mark.parametrize(
    "query, message",
    [
        ("PatientNme=x", "unknown attribute"),
        ("00191010=x", "unknown or private"),
        ("includefield=NoSuchThing", "unknown attribute"),
        ("00400275.00400009=x", "sequences"),
        ("fuzzymatching=maybe", "fuzzymatching"),
        ("PatientID=a&PatientID=b", "more than once"),
    ],
)
def test_it_refuses_what_it_cannot_read(query, message):
    with pytest.raises(QueryError, match=message):
        identifier(query)


def test_it_accepts_fuzzymatching_true_and_false():
    assert identifier("fuzzymatching=true&PatientName=x").PatientName == "x"
    assert identifier("fuzzymatching=false").QueryRetrieveLevel == "STUDY"


def test_it_pages_by_limit_and_offset_capped_at_the_maximum():
    assert qido.paging(parse_qs("limit=10&offset=20")) == qido.Paging(10, 20, False)
    assert qido.paging({}) == qido.Paging(qido.MAX_LIMIT, 0, True)
    assert qido.paging(parse_qs("limit=999999")) == qido.Paging(qido.MAX_LIMIT, 0, True)
    assert qido.paging(parse_qs("limit=0")) == qido.Paging(0, 0, False)


@pytest.mark.parametrize("query", ["limit=-1", "limit=ten", "offset=1.5", "offset=-3", "limit=٣"])
def test_it_refuses_a_bad_limit_or_offset(query):
    with pytest.raises(QueryError, match="whole number"):
        qido.paging(parse_qs(query))


def test_it_refuses_an_offset_beyond_any_archive():
    with pytest.raises(QueryError, match="too large"):
        qido.paging(parse_qs("offset=" + "9" * 30))


# The endpoints, over an archive


@pytest.fixture
def archive(tmp_path, small_ct):
    """The demo CT, the character set samples (GB18030 王 and others), CT_small, MR_small."""
    Importer().run(write_charset_samples(tmp_path / "charsets"))
    Importer().run([sample("CT_small.dcm"), sample("MR_small.dcm")])


def get(client, url: str, **params):
    return client.get(f"/dicom-web/{url}", params)


def study_uids(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {values(result, STUDY_UID)[0] for result in response.json()}


@pytest.mark.django_db
def test_it_finds_a_study_by_exact_patient_name(alice_client, archive):
    response = get(alice_client, "studies", PatientName="Zhang^Wei=张^伟")
    assert response["Content-Type"] == "application/dicom+json"
    assert study_uids(response) == {DEMO_STUDY}


@pytest.mark.django_db
def test_it_finds_studies_by_wildcard_and_partial_names(alice_client, archive):
    assert study_uids(get(alice_client, "studies", PatientName="zhang*")) == {DEMO_STUDY}
    # No wildcard: contained, case-insensitive (fuzzy, as the study list searches).
    assert study_uids(get(alice_client, "studies", PatientName="HANG^W")) == {DEMO_STUDY}
    assert study_uids(get(alice_client, "studies", PatientName="nobody*")) == set()


@pytest.mark.django_db
def test_it_finds_a_chinese_name_without_its_separators(alice_client, archive):
    assert study_uids(get(alice_client, "studies", PatientName="张伟")) == {DEMO_STUDY}
    found = get(alice_client, "studies", PatientName="王").json()
    assert found and all("王" in values(r, PATIENT_NAME)[0]["Ideographic"] for r in found)


@pytest.mark.django_db
def test_it_sends_names_as_pn_objects(alice_client, archive):
    (result,) = get(alice_client, "studies", StudyInstanceUID=DEMO_STUDY).json()
    assert result[PATIENT_NAME] == {
        "vr": "PN",
        "Value": [{"Alphabetic": "Zhang^Wei", "Ideographic": "张^伟"}],
    }


@pytest.mark.django_db
def test_it_finds_by_patient_id_accession_date_range_and_modality(alice_client, archive):
    demo = Study.objects.get(study_uid=DEMO_STUDY)
    ct_small = Study.objects.get(patient__patient_id="1CT1")
    assert study_uids(get(alice_client, "studies", PatientID="PW-DEMO-0001")) == {DEMO_STUDY}
    assert study_uids(get(alice_client, "studies", PatientID="pw-demo-*")) == {DEMO_STUDY}
    day = ct_small.study_date.strftime("%Y%m%d")
    by_date = study_uids(get(alice_client, "studies", StudyDate=f"{day}-{day}"))
    assert by_date == set(
        Study.objects.filter(study_date=ct_small.study_date).values_list("study_uid", flat=True)
    )
    assert ct_small.study_uid in by_date and DEMO_STUDY not in by_date
    mr = study_uids(get(alice_client, "studies", ModalitiesInStudy="MR"))
    assert mr == set(
        Study.objects.filter(series__modality="MR").values_list("study_uid", flat=True)
    )
    assert mr and DEMO_STUDY not in mr
    both = study_uids(get(alice_client, "studies", ModalitiesInStudy="MR,CT"))
    assert mr < both and DEMO_STUDY in both
    if demo.accession_number:
        found = get(alice_client, "studies", AccessionNumber=demo.accession_number)
        assert DEMO_STUDY in study_uids(found)
    ct_small.accession_number = "ACC-QIDO-1"
    ct_small.save()
    assert study_uids(get(alice_client, "studies", AccessionNumber="acc-qido-1")) == {
        ct_small.study_uid
    }


@pytest.mark.django_db
def test_it_answers_the_default_study_attributes_with_a_retrieve_url(alice_client, archive):
    (result,) = get(alice_client, "studies", StudyInstanceUID=DEMO_STUDY).json()
    assert values(result, RETRIEVE_URL) == [f"{BASE}/studies/{DEMO_STUDY}"]
    assert values(result, PATIENT_ID) == ["PW-DEMO-0001"]
    assert values(result, MODALITIES) == ["CT"]
    assert values(result, "00201206") == [4] and values(result, "00201208") == [23]
    assert values(result, "00080056") == ["ONLINE"]
    for tag in ("00080020", "00080030", "00080050", "00080090", "00100030", "00100040"):
        assert tag in result  # required return keys present, empty or not
    assert "00080005" not in result and "00080052" not in result


@pytest.mark.django_db
def test_it_lists_the_series_of_a_study(alice_client, archive):
    response = get(alice_client, f"studies/{DEMO_STUDY}/series")
    found = response.json()
    expected = set(Series.objects.filter(study__study_uid=DEMO_STUDY).values_list("series_uid"))
    assert {(values(r, SERIES_UID)[0],) for r in found} == expected and len(found) == 4
    for result in found:
        series_uid = values(result, SERIES_UID)[0]
        assert values(result, STUDY_UID) == [DEMO_STUDY]
        assert values(result, "00080060") == ["CT"]
        assert values(result, RETRIEVE_URL) == [f"{BASE}/studies/{DEMO_STUDY}/series/{series_uid}"]
        assert PATIENT_NAME not in result  # scoped to the study: series attributes only
    unscoped = get(alice_client, "series", Modality="CT", StudyInstanceUID=DEMO_STUDY).json()
    assert len(unscoped) == 4 and all(PATIENT_NAME in r for r in unscoped)


@pytest.mark.django_db
def test_it_lists_the_instances_of_a_series_with_their_size(alice_client, archive):
    series = Series.objects.filter(study__study_uid=DEMO_STUDY).order_by("series_number").last()
    url = f"studies/{DEMO_STUDY}/series/{series.series_uid}/instances"
    found = get(alice_client, url).json()
    stored = Instance.objects.filter(series=series)
    assert {values(r, SOP_UID)[0] for r in found} == set(
        stored.values_list("sop_instance_uid", flat=True)
    )
    for result in found:
        sop_uid = values(result, SOP_UID)[0]
        row = stored.get(sop_instance_uid=sop_uid)
        assert values(result, "00280010") == [row.rows] and values(result, "00280011") == [64]
        assert values(result, "00280008") == [row.number_of_frames]
        assert values(result, "00080016") == [row.sop_class_uid]
        assert values(result, SERIES_UID) == [series.series_uid]
        assert values(result, STUDY_UID) == [DEMO_STUDY]
        assert values(result, RETRIEVE_URL) == [
            f"{BASE}/studies/{DEMO_STUDY}/series/{series.series_uid}/instances/{sop_uid}"
        ]
    of_study = get(alice_client, f"studies/{DEMO_STUDY}/instances").json()
    assert len(of_study) == 23 and all("00080060" in r for r in of_study)


@pytest.mark.django_db
def test_it_answers_an_empty_array_for_no_match_or_an_unknown_study(alice_client, archive):
    for url in ("studies/1.2.3.999/series", "studies/1.2.3.999/instances", "instances"):
        response = get(
            alice_client, url, **({"SOPInstanceUID": "1.2.3.4"} if url == "instances" else {})
        )
        assert response.status_code == 200 and response.json() == []


@pytest.mark.django_db
def test_it_pages_disjointly_and_completely(alice_client, archive):
    url = f"studies/{DEMO_STUDY}/instances"
    pages = [get(alice_client, url, limit=5, offset=offset).json() for offset in range(0, 25, 5)]
    assert [len(page) for page in pages] == [5, 5, 5, 5, 3]
    uids = [values(r, SOP_UID)[0] for page in pages for r in page]
    assert len(set(uids)) == 23 and set(uids) == set(
        Instance.objects.filter(series__study__study_uid=DEMO_STUDY).values_list(
            "sop_instance_uid", flat=True
        )
    )
    assert "Warning" not in get(alice_client, url, limit=5)


@pytest.mark.django_db
def test_it_warns_when_its_maximum_cut_the_answer(alice_client, archive, monkeypatch):
    monkeypatch.setattr(qido, "MAX_LIMIT", 10)
    response = get(alice_client, f"studies/{DEMO_STUDY}/instances", limit=500)
    assert len(response.json()) == 10
    assert response["Warning"].startswith("299 testserver: ")
    assert "exceeded the maximum" in response["Warning"]


@pytest.mark.django_db
def test_it_returns_includefield_all_or_a_named_tag(alice_client, archive):
    (named,) = get(
        alice_client, "studies", StudyInstanceUID=DEMO_STUDY, includefield="00100021"
    ).json()
    assert "00100021" in named  # Issuer of Patient ID: asked for, so present
    (everything,) = get(
        alice_client, f"studies/{DEMO_STUDY}/series", includefield="all", SeriesNumber=""
    ).json()[:1]
    assert {"00180015", "00100021", "00081030"} <= set(everything)


@pytest.mark.django_db
def test_it_warns_about_matching_keys_it_ignores(alice_client, archive):
    response = get(alice_client, "studies", StudyDescription="chest")
    assert response.status_code == 200
    assert "StudyDescription" in response["Warning"] and "ignored" in response["Warning"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "accept", ["application/dicom+xml", 'multipart/related; type="application/dicom+xml"']
)
def test_it_refuses_other_media_types_with_406(alice_client, archive, accept):
    response = alice_client.get("/dicom-web/studies", headers={"Accept": accept})
    assert response.status_code == 406
    assert "application/dicom+json" in response.json()["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize("accept", ["application/dicom+json", "application/json", "*/*", ""])
def test_it_answers_dicom_json_to_what_takes_it(alice_client, archive, accept):
    response = alice_client.get("/dicom-web/studies", headers={"Accept": accept})
    assert response.status_code == 200 and len(response.json()) >= 3


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params, message",
    [
        ({"limit": "-5"}, "limit"),
        ({"offset": "x"}, "offset"),
        ({"PatientNme": "x"}, "PatientNme"),
        ({"StudyDate": "2024"}, "invalid date"),
    ],
)
def test_it_answers_400_for_a_bad_query(alice_client, archive, params, message):
    response = get(alice_client, "studies", **params)
    assert response.status_code == 400
    assert message in response.json()["detail"]


@pytest.mark.django_db
def test_it_audits_each_search_with_its_terms(alice_client, alice, archive):
    get(alice_client, "studies", PatientName="zhang*", includefield="all")
    event = AuditEvent.objects.filter(event=AuditEvent.QUERY).latest("id")
    assert event.user == alice
    assert "studies" in event.detail and "PatientName=zhang*" in event.detail
    assert "1 matches" in event.detail
    get(alice_client, f"studies/{DEMO_STUDY}/series")
    scoped = AuditEvent.objects.filter(event=AuditEvent.QUERY).latest("id")
    assert scoped.study_uid == DEMO_STUDY and scoped.patient_id == "PW-DEMO-0001"
    get(alice_client, "studies", limit="bad")
    refused = AuditEvent.objects.filter(event=AuditEvent.QUERY).latest("id")
    assert refused.outcome == AuditEvent.FAILURE and "not understood" in refused.detail


@pytest.mark.django_db
def test_it_does_not_redirect_routes_without_a_slash(alice_client, archive):
    for url in ("studies", "series", "instances", f"studies/{DEMO_STUDY}/series"):
        assert get(alice_client, url).status_code == 200
