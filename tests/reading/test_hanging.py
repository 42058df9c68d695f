"""Hanging protocols: which protocol a study gets, and what goes where (no database)."""

import pytest

from viewer.reading.hanging import Protocol, SeriesFacts, arrange, choose, matches, plane_of

CT_PROTOCOL = Protocol(
    name="CT",
    modality="CT",
    priority=10,
    rules=[
        {"plane": "axial", "min_images": 2, "window": "Abdomen"},
        {"same_as": 0, "window": "Lung"},
        {"plane": "coronal", "min_images": 2, "optional": True, "window": "Abdomen"},
    ],
)


def series(uid, description, plane="axial", images=10, modality="CT", body_part=""):
    return SeriesFacts(uid, modality, description, body_part, plane, images)


DEMO_CT = [
    series("1", "Localizer", plane="coronal", images=1),
    series("2", "Axial 5.0 mm", images=60),
    series("3", "Axial 1.0 mm", images=300),
    series("4", "Coronal 5.0 mm", plane="coronal", images=40),
]


def test_it_knows_the_plane_from_the_orientation():
    assert plane_of([1, 0, 0, 0, 1, 0]) == "axial"
    assert plane_of([1, 0, 0, 0, 0, -1]) == "coronal"
    assert plane_of([0, 1, 0, 0, 0, -1]) == "sagittal"
    assert plane_of([1, 0, 0, 0, 0.7, 0.7]) == "oblique"
    assert plane_of(None) == "unknown"


def test_the_demo_ct_gets_soft_tissue_beside_lung_and_its_coronal():
    hanging = arrange(CT_PROTOCOL, DEMO_CT)
    assert hanging.layout == "1x3"
    assert hanging.viewports == [
        {"series_uid": "2", "window": "Abdomen"},
        {"series_uid": "2", "window": "Lung"},
        {"series_uid": "4", "window": "Abdomen"},
    ]


def test_without_a_coronal_the_ct_layout_is_two_wide():
    assert arrange(CT_PROTOCOL, DEMO_CT[:3]).layout == "1x2"


def test_radiographs_get_one_viewport_each():
    protocol = Protocol(name="CR", modality="CR", rules=[{"each": True}])
    views = [series(str(n), "Chest", plane="unknown", images=1, modality="CR") for n in range(3)]
    hanging = choose([CT_PROTOCOL, protocol], "", views)
    assert hanging.protocol == "CR" and hanging.layout == "1x3"
    assert [v["series_uid"] for v in hanging.viewports] == ["0", "1", "2"]


def test_mr_fills_two_by_two_by_sequence_then_whatever_is_left():
    protocol = Protocol(
        name="MR",
        modality="MR",
        layout="2x2",
        rules=[
            {"series": "*t1*", "optional": True},
            {"series": "*t2*", "optional": True},
            {"series": "*flair*", "optional": True},
            {"series": "*diff*", "optional": True},
            {"each": True},
        ],
    )
    study = [
        series(n, d, modality="MR")
        for n, d in [
            ("a", "Survey"),
            ("b", "AX FLAIR"),
            ("c", "AX T2 TSE"),
            ("d", "SAG T1"),
            ("e", "ADC"),
        ]
    ]
    hanging = arrange(protocol, study)
    assert [v["series_uid"] for v in hanging.viewports] == ["d", "c", "b", "a"]


@pytest.mark.parametrize(
    ("protocol", "expected"),
    [
        (Protocol(name="x", modality="MR"), False),
        (Protocol(name="x", study_description="*chest*"), True),
        (Protocol(name="x", study_description="*brain*"), False),
        (Protocol(name="x", min_series=5), False),
        (Protocol(name="x", body_part="ABD*"), False),
    ],
)
def test_a_protocol_matches_by_modality_description_body_part_and_count(protocol, expected):
    assert matches(protocol, "CT Chest Abdomen Pelvis", DEMO_CT) is expected


def test_the_highest_priority_match_wins_and_no_match_gives_none():
    general = Protocol(name="any CT", modality="CT", rules=[{"plane": "axial"}])
    assert choose([general, CT_PROTOCOL], "", DEMO_CT).protocol == "CT"
    assert choose([Protocol(name="MR", modality="MR")], "", DEMO_CT) is None


def test_a_rule_nothing_fits_leaves_its_viewport_empty_unless_optional():
    protocol = Protocol(name="x", rules=[{"plane": "sagittal"}, {"plane": "axial"}])
    assert arrange(protocol, DEMO_CT).viewports == [
        {"series_uid": None, "window": ""},
        {"series_uid": "2", "window": ""},
    ]
