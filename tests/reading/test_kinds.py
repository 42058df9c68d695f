"""One table of measurement kinds: the model, the menu, the checks, SR and film agree."""

import pytest
from django.utils import translation

from viewer.imaging.film_marks import SHAPES
from viewer.reading import measurements, sr
from viewer.reading.kinds import KINDS
from viewer.reading.models import Measurement
from viewer.web.film_views import MARK_SHAPES
from viewer.web.views import measure_tools

ORDER = ["length", "angle", "cobb", "ellipse", "rectangle", "freehand", "probe", "arrow", "text"]


def test_every_kind_the_model_accepts_is_in_the_table():
    assert [kind for kind, _ in Measurement.KINDS] == list(KINDS) == ORDER
    assert Measurement._meta.get_field("kind").choices == Measurement.KINDS
    assert all(k.kind == name for name, k in KINDS.items())


def test_it_keeps_the_models_names_for_people():
    with translation.override("en"):
        assert [str(name) for _, name in Measurement.KINDS] == [
            "length",
            "angle",
            "Cobb angle",
            "ellipse ROI",
            "rectangle ROI",
            "freehand ROI",
            "point probe",
            "arrow",
            "text",
        ]


def test_it_builds_the_measure_menu_from_the_table_and_the_3d_cursor():
    with translation.override("en"):
        assert measure_tools() == [
            ("length", "Length"),
            ("angle", "Angle"),
            ("cobb", "Cobb angle"),
            ("ellipse", "Ellipse ROI"),
            ("rectangle", "Rectangle ROI"),
            ("freehand", "Freehand ROI"),
            ("probe", "Probe"),
            ("arrow", "Arrow"),
            ("text", "Text"),
            ("cursor", "3-D cursor"),
        ]


def test_it_names_the_tools_in_the_persons_language():
    with translation.override("zh-hans"):
        assert dict(measure_tools())["ellipse"] == "椭圆 ROI"
        assert str(dict(Measurement.KINDS)["freehand"]) == "手绘 ROI"


def test_it_keeps_the_point_counts_per_kind():
    assert {kind: k.points for kind, k in KINDS.items()} == {
        "length": (2, 2),
        "angle": (3, 3),
        "cobb": (4, 4),
        "ellipse": (2, 2),
        "rectangle": (2, 2),
        "freehand": (3, None),
        "probe": (1, 1),
        "arrow": (2, 2),
        "text": (1, 1),
    }


def test_it_counts_ellipses_rectangles_and_freehand_outlines_as_rois():
    assert {kind for kind, k in KINDS.items() if k.roi} == {"ellipse", "rectangle", "freehand"}
    assert {kind for kind, k in KINDS.items() if k.value} == {"probe"}


def test_it_puts_lengths_rois_and_probes_in_the_sr():
    assert {kind for kind, k in KINDS.items() if k.sr} == {
        "length",
        "ellipse",
        "rectangle",
        "freehand",
        "probe",
    }


def test_it_lets_only_a_length_be_drawn_in_the_volume():
    assert [kind for kind, k in KINDS.items() if k.volume] == ["length"]


def test_every_shape_is_one_the_film_draws():
    assert {kind: k.shape for kind, k in KINDS.items()} == {
        "length": "line",
        "angle": "polyline",
        "cobb": "segments",
        "ellipse": "ellipse",
        "rectangle": "rectangle",
        "freehand": "polygon",
        "probe": "point",
        "arrow": "arrow",
        "text": "point",
    }
    assert {k.shape for k in KINDS.values()} == set(SHAPES)


def test_a_print_may_carry_every_kind_as_its_shape():
    assert MARK_SHAPES == {kind: k.shape for kind, k in KINDS.items()}


@pytest.mark.parametrize(
    ("space", "wanted"),
    [("image", ", ".join(ORDER)), ("patient", "length")],
)
def test_a_new_measurement_is_one_of_the_tables_kinds(space, wanted):
    payload = {
        "space": space,
        "series_uid": "1.2.3",
        "sop_instance_uid": "1.2.3.4",
        "frame_of_reference_uid": "1.2.3.5",
        "kind": "laser",
    }
    with pytest.raises(measurements.MeasurementError) as raised:
        measurements.clean(payload)
    assert str(raised.value) == f"kind must be one of {wanted}"


@pytest.mark.parametrize(
    ("kind", "points", "detail"),
    [
        ("length", [[1, 2]], "a length needs 2 points"),
        ("cobb", [[1, 2]] * 3, "a cobb needs 4 points"),
        ("freehand", [[1, 2]] * 2, "a freehand needs 3 or more points"),
        ("probe", [[1, 2]] * 2, "a probe needs 1 points"),
    ],
)
def test_a_measurement_needs_its_kinds_points(kind, points, detail):
    with pytest.raises(measurements.MeasurementError, match=detail):
        measurements.clean({"points": points}, partial=True, kind=kind)
    assert measurements.clean({"points": [[1, 2]] * 3}, partial=True, kind="freehand")


def test_each_sr_kind_keeps_its_region():
    corners = [[1, 2], [5, 8]]
    assert sr._scoord("probe", [[1, 2]])[0] == "POINT"
    assert sr._scoord("length", corners)[1].tolist() == [[1.5, 2.5], [5.5, 8.5]]
    graphic, data = sr._scoord("freehand", [[0, 0], [4, 0], [0, 4]])
    assert graphic == "POLYLINE" and data.tolist()[-1] == data.tolist()[0]
    graphic, data = sr._scoord("rectangle", corners)
    assert graphic == "POLYLINE" and len(data) == 5
    graphic, data = sr._scoord("ellipse", corners)
    # The major axis first: down (6 px) is longer than across (4 px).
    assert graphic == "ELLIPSE" and data.tolist()[:2] == [[3.5, 2.5], [3.5, 8.5]]


def test_only_the_tables_sr_kinds_go_into_the_sr():
    assert [kind for kind in KINDS if sr._in_sr(kind)] == [
        "length",
        "ellipse",
        "rectangle",
        "freehand",
        "probe",
    ]
    assert not sr._in_sr("laser")
