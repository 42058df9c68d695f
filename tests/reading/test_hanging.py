"""Hanging protocols: which protocol a study gets, and what goes where (no database)."""

from dataclasses import replace

import pytest

from viewer.reading.hanging import (
    Protocol,
    SeriesFacts,
    arrange,
    choose,
    matches,
    opening_series,
    parse_layout,
    plane_of,
    with_listed_images,
)

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


def test_it_shows_one_viewport_first_one_first_on_a_narrow_screen_by_default():
    hanging = arrange(CT_PROTOCOL, DEMO_CT)
    assert hanging.narrow == {"layout": "1x1", "viewports": hanging.viewports}


def test_it_puts_the_protocols_narrow_viewports_first_and_keeps_the_rest():
    protocol = replace(CT_PROTOCOL, layout="1x3", narrow_layout="2x1", narrow_viewports=[2, 0])
    hanging = arrange(protocol, DEMO_CT)
    assert hanging.layout == "1x3" and len(hanging.viewports) == 3  # wide as before
    assert hanging.narrow == {
        "layout": "2x1",
        "viewports": [
            {"series_uid": "4", "window": "Abdomen"},
            {"series_uid": "2", "window": "Abdomen"},
            {"series_uid": "2", "window": "Lung"},
        ],
    }


def test_a_narrow_index_names_a_rule_so_a_missing_optional_viewport_is_skipped():
    protocol = replace(CT_PROTOCOL, narrow_viewports=[2, 1])
    hanging = arrange(protocol, DEMO_CT[:3])  # no coronal: rule 2 adds nothing
    assert [v["window"] for v in hanging.narrow["viewports"]] == ["Lung", "Abdomen"]


def test_a_narrow_index_of_an_each_rule_brings_all_its_viewports():
    protocol = Protocol(name="CR", rules=[{"series": "*PA*"}, {"each": True}], narrow_viewports=[1])
    views = [
        series(uid, d, plane="unknown", images=1, modality="CR")
        for uid, d in [("a", "Lateral"), ("b", "PA"), ("c", "Oblique")]
    ]
    hanging = arrange(protocol, views)
    assert [v["series_uid"] for v in hanging.viewports] == ["b", "a", "c"]
    assert [v["series_uid"] for v in hanging.narrow["viewports"]] == ["a", "c", "b"]


@pytest.mark.parametrize(
    ("narrow_layout", "expected"),
    [("", "1x1"), ("1 × 2", "1x2"), ("2x2", "1x1"), ("phone", "1x1")],
)
def test_a_narrow_layout_beyond_two_viewports_or_unreadable_shows_one(narrow_layout, expected):
    hanging = arrange(replace(CT_PROTOCOL, narrow_layout=narrow_layout), DEMO_CT)
    assert hanging.narrow["layout"] == expected


def test_a_two_up_narrow_layout_with_one_viewport_shows_one():
    protocol = Protocol(name="x", rules=[{"plane": "coronal"}], narrow_layout="1x2")
    assert arrange(protocol, DEMO_CT).narrow["layout"] == "1x1"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2x1", (2, 1)), (" 1 × 2 ", (1, 2)), ("1*1", (1, 1)), ("5x1", None), ("", None)],
)
def test_it_parses_layouts_as_the_viewer_does(text, expected):
    assert parse_layout(text) == expected


def test_it_names_the_series_the_viewer_opens_on_each_screen():
    hung = {
        "viewports": [{"series_uid": "ax"}, {"series_uid": "cor"}],
        "narrow": {"layout": "1x1", "viewports": [{"series_uid": "cor"}, {"series_uid": "ax"}]},
    }
    assert opening_series("", [hung], ["loc", "ax", "cor"]) == ["ax", "cor"], "wide, then narrow"
    same = {**hung, "narrow": {"layout": "1x1", "viewports": hung["viewports"]}}
    assert opening_series("", [same], ["loc", "ax", "cor"]) == ["ax"]
    assert opening_series("cor", [hung], ["loc", "ax", "cor"]) == ["cor"], "the one asked for"
    assert opening_series("", [], ["loc", "ax"]) == ["loc"], "no protocol: the strip's first"
    assert opening_series("", [], []) == []


def test_it_hangs_a_study_still_arriving_as_it_will_hang_when_whole():
    # First images only: the axial and coronal stacks are single images as yet.
    arriving = [replace(facts, images=1) for facts in DEMO_CT]
    assert arrange(CT_PROTOCOL, arriving).viewports == [
        {"series_uid": None, "window": "Abdomen"},
        {"series_uid": None, "window": "Lung"},
    ]
    listed = {"1": 1, "2": 60, "3": 300, "4": 40}
    counted = with_listed_images(arriving, listed)
    assert [facts.images for facts in counted] == [1, 60, 300, 40]
    assert arrange(CT_PROTOCOL, counted) == arrange(CT_PROTOCOL, DEMO_CT)


def test_it_keeps_the_count_here_when_more_arrived_than_were_listed():
    pushed = [replace(DEMO_CT[1], images=70), DEMO_CT[3]]
    assert [f.images for f in with_listed_images(pushed, {"2": 60})] == [70, 40]


def test_it_names_the_first_viewports_series_and_image_on_each_screen():
    from viewer.reading.hanging import opening_views

    hung = {
        "viewports": [{"series_uid": "mammo", "sop_instance_uid": "r-cc"}, {"series_uid": "ax"}],
        "narrow": {"layout": "1x1", "viewports": [{"series_uid": "cor"}]},
    }
    views = opening_views("", [hung], ["loc", "ax", "cor"])
    assert views["wide"] == {"series_uid": "mammo", "sop_instance_uid": "r-cc"}
    assert views["narrow"] == {"series_uid": "cor", "sop_instance_uid": ""}
    no_narrow = opening_views("", [{"viewports": hung["viewports"]}], ["loc"])
    assert no_narrow["narrow"] == no_narrow["wide"], "a phone shows the wide form's first"
    asked = opening_views("cor", [hung], ["loc", "ax", "cor"])
    assert asked["wide"] == asked["narrow"] == {"series_uid": "cor", "sop_instance_uid": ""}
    assert opening_views("", [], ["loc", "ax"])["wide"]["series_uid"] == "loc"
    assert opening_views("", [], [])["narrow"]["series_uid"] == ""
