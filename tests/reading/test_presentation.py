"""Grayscale Softcopy Presentation States read into what the viewer applies: every part,
what is not understood named as not shown, references checked against the archive."""

import json

import pydicom
import pytest

from tests import presentation as gen
from viewer.archive.importer import Importer
from viewer.archive.models import Study
from viewer.reading.presentation import (
    NotAPresentationState,
    describe,
    lab_to_hex,
    presentation_instances,
    read_presentation_state,
    states_by_series,
    study_presentation_states,
)


def state(**overrides) -> dict:
    return describe(gen.gsps(gen.ct_slices(), **overrides))


def test_it_names_the_state_and_the_images_it_applies_to():
    described = state()
    assert described["label"] == gen.LABEL
    assert described["description"] == "Lesion window and marks"
    assert described["creator"] == "Reader Rita"
    assert (described["date"], described["time"]) == ("2026-01-03", "09:15")
    refs = described["applies_to"][gen.SERIES_UID]
    assert [r["sop_instance_uid"] for r in refs] == [gen.uid("sop", i) for i in range(gen.SLICES)]
    assert all(r["frames"] is None for r in refs)
    assert described["not_shown"] == []


def test_it_reads_referenced_frames():
    images = gen.ct_slices()
    ref = gen.item(
        ReferencedSOPClassUID=images[0].SOPClassUID,
        ReferencedSOPInstanceUID=images[0].SOPInstanceUID,
        ReferencedFrameNumber=[2, 3],
    )
    described = state(
        ReferencedSeriesSequence=[
            gen.item(SeriesInstanceUID=gen.SERIES_UID, ReferencedImageSequence=[ref])
        ]
    )
    assert described["applies_to"] == {
        gen.SERIES_UID: [{"sop_instance_uid": images[0].SOPInstanceUID, "frames": [2, 3]}]
    }


def test_it_reads_the_window_and_modality_lut():
    described = state()
    assert described["voi"] == [
        {"applies_to": None, "center": 40.0, "width": 80.0, "function": "LINEAR", "explanation": ""}
    ]
    assert described["modality_lut"] == {"slope": 1.0, "intercept": -1024.0, "type": "HU"}


def test_it_scopes_a_window_to_its_images():
    ref = gen.item(ReferencedSOPClassUID="1.2", ReferencedSOPInstanceUID=gen.middle_sop())
    described = state(
        SoftcopyVOILUTSequence=[
            gen.item(WindowCenter=400, WindowWidth=1800, ReferencedImageSequence=[ref])
        ]
    )
    assert described["voi"][0]["applies_to"] == [
        {"sop_instance_uid": gen.middle_sop(), "frames": None}
    ]


def test_it_says_a_voi_lut_table_is_not_shown_rather_than_guess():
    lut = gen.item(LUTDescriptor=[2, 0, 16], LUTData=[0, 65535])
    described = state(SoftcopyVOILUTSequence=[gen.item(VOILUTSequence=[lut])])
    assert described["voi"] == []
    assert described["not_shown"] == ["a VOI LUT table (not supported)"]


def test_it_says_a_modality_lut_table_is_not_shown():
    lut = gen.item(LUTDescriptor=[2, 0, 16], ModalityLUTType="HU", LUTData=[0, 1])
    described = state(
        ModalityLUTSequence=[lut], RescaleSlope=None, RescaleIntercept=None, RescaleType=None
    )
    assert described["modality_lut"] is None
    assert "a modality LUT table (not supported)" in described["not_shown"]


def test_it_reads_the_presentation_lut_shape():
    assert state()["presentation_lut_shape"] == "IDENTITY"
    assert state(PresentationLUTShape="INVERSE")["presentation_lut_shape"] == "INVERSE"


def test_it_reads_rotation_and_flip():
    described = state(ImageHorizontalFlip="Y")
    assert (described["rotation"], described["flip_horizontal"]) == (90, True)


def test_it_names_a_rotation_it_cannot_do():
    described = state(ImageRotation=45)
    assert described["rotation"] == 0
    assert described["not_shown"] == ["a rotation of 45 degrees"]


def test_it_reads_the_displayed_area():
    assert state()["displayed_area"] == [
        {
            "applies_to": None,
            "top_left": [1.0, 1.0],
            "bottom_right": [64.0, 64.0],
            "size_mode": "SCALE TO FIT",
            "pixel_spacing": [2.5, 2.5],
            "aspect_ratio": None,
            "magnification": None,
        }
    ]


def test_it_says_true_size_is_fitted_instead():
    area = gen.item(
        DisplayedAreaTopLeftHandCorner=[1, 1],
        DisplayedAreaBottomRightHandCorner=[32, 32],
        PresentationSizeMode="TRUE SIZE",
        PresentationPixelSpacing=[0.5, 0.5],
    )
    described = state(DisplayedAreaSelectionSequence=[area])
    assert described["displayed_area"][0]["size_mode"] == "TRUE SIZE"
    assert described["not_shown"] == ["true size (the displayed area is fitted to the viewport)"]


def test_it_reads_layers_with_their_colours_in_order():
    layers = [
        gen.item(
            GraphicLayer="B",
            GraphicLayerOrder=2,
            GraphicLayerRecommendedDisplayGrayscaleValue=65535,
        ),
        gen.item(GraphicLayer="A", GraphicLayerOrder=1),
        gen.item(
            GraphicLayer="C",
            GraphicLayerOrder=3,
            GraphicLayerRecommendedDisplayCIELabValue=[0, 32896, 32896],
        ),
    ]
    described = state(GraphicLayerSequence=layers)
    assert [(layer["name"], layer["colour"]) for layer in described["layers"]] == [
        ("A", "#ffd21f"),
        ("B", "#ffffff"),
        ("C", "#000000"),
    ]


def test_it_converts_cielab_to_srgb():
    assert lab_to_hex([65535, 32896, 32896]) == "#ffffff"
    red = lab_to_hex([35000, 50000, 45000])
    assert int(red[1:3], 16) > 150 and int(red[3:5], 16) < 80


def test_it_reads_graphics_and_texts():
    (annotation,) = state()["annotations"]
    assert annotation["layer"] == "MARKS"
    assert annotation["applies_to"] == [{"sop_instance_uid": gen.middle_sop(), "frames": None}]
    assert annotation["graphics"] == [
        {"type": "POLYLINE", "units": "PIXEL", "points": gen.POLYLINE, "filled": False},
        {"type": "CIRCLE", "units": "PIXEL", "points": gen.CIRCLE, "filled": False},
    ]
    (text,) = annotation["texts"]
    assert text["text"] == gen.TEXT
    assert text["box"] == [[10.0, 44.0], [40.0, 52.0]]
    assert (text["box_units"], text["anchor"], text["anchor_visible"]) == ("PIXEL", None, False)


def _graphic(kind: str, units: str, data: list[float]):
    return gen.item(
        GraphicAnnotationUnits=units,
        GraphicDimensions=2,
        NumberOfGraphicPoints=len(data) // 2,
        GraphicData=data,
        GraphicType=kind,
        GraphicFilled="Y",
    )


def test_it_reads_every_graphic_type_and_display_units():
    graphics = [
        _graphic("POINT", "DISPLAY", [0.5, 0.5]),
        _graphic("INTERPOLATED", "PIXEL", [1, 1, 5, 5, 9, 1]),
        _graphic("ELLIPSE", "PIXEL", [0, 10, 20, 10, 10, 5, 10, 15]),
    ]
    anchored = gen.item(
        AnchorPointAnnotationUnits="DISPLAY",
        UnformattedTextValue="see",
        AnchorPoint=[0.25, 0.75],
        AnchorPointVisibility="Y",
    )
    described = state(
        GraphicAnnotationSequence=[
            gen.item(
                GraphicLayer="MARKS", GraphicObjectSequence=graphics, TextObjectSequence=[anchored]
            )
        ]
    )
    (annotation,) = described["annotations"]
    assert annotation["applies_to"] is None
    assert [(g["type"], g["units"], g["filled"]) for g in annotation["graphics"]] == [
        ("POINT", "DISPLAY", True),
        ("INTERPOLATED", "PIXEL", True),
        ("ELLIPSE", "PIXEL", True),
    ]
    assert annotation["texts"][0]["anchor"] == [0.25, 0.75]
    assert annotation["texts"][0]["anchor_visible"] is True
    assert described["not_shown"] == []


def test_it_lists_graphics_it_does_not_understand_as_not_shown():
    graphics = [
        _graphic("POLYLINE", "MATRIX", [1, 1, 2, 2]),
        _graphic("SPLINE", "PIXEL", [1, 1, 2, 2]),
        _graphic("CIRCLE", "PIXEL", [1, 1]),
    ]
    no_place = gen.item(UnformattedTextValue="lost")
    described = state(
        GraphicAnnotationSequence=[
            gen.item(
                GraphicLayer="MARKS",
                GraphicObjectSequence=graphics,
                TextObjectSequence=[no_place],
                CompoundGraphicSequence=[gen.item()],
            )
        ]
    )
    assert described["annotations"][0]["graphics"] == []
    assert described["not_shown"] == [
        "a graphic in MATRIX units",
        "a graphic of type SPLINE",
        "a graphic without its points (CIRCLE)",
        "a text annotation without a place to show it",
        "compound graphics",
    ]


def _refuse(constant: str):
    raise ValueError(f"not JSON: {constant}")


def test_it_drops_graphics_and_texts_whose_numbers_are_not_finite():
    nan, inf = float("nan"), float("inf")
    graphics = [
        _graphic("POLYLINE", "PIXEL", [1, 1, nan, 5, 9, 1]),
        _graphic("POINT", "PIXEL", [4, 4]),
    ]
    texts = [
        gen.item(
            AnchorPointAnnotationUnits="PIXEL", UnformattedTextValue="far", AnchorPoint=[inf, 2]
        )
    ]
    described = state(
        GraphicAnnotationSequence=[
            gen.item(GraphicLayer="MARKS", GraphicObjectSequence=graphics, TextObjectSequence=texts)
        ]
    )
    # Valid JSON: no NaN or Infinity in it.
    json.loads(json.dumps(described), parse_constant=_refuse)
    (annotation,) = described["annotations"]
    assert [g["type"] for g in annotation["graphics"]] == ["POINT"]
    assert annotation["texts"] == []
    assert described["not_shown"] == [
        "a graphic without its points (POLYLINE)",
        "a text annotation without a place to show it",
    ]


def test_it_reads_the_rectangular_shutter():
    assert state()["shutters"] == {
        "shapes": [
            {"shape": "RECTANGULAR", "left": 4.0, "right": 60.0, "top": 2.0, "bottom": 62.0}
        ],
        "value": 0.0,
        "colour": "#000000",
    }


def test_it_reads_circular_and_polygonal_shutters_as_column_row():
    described = state(
        ShutterShape=["CIRCULAR", "POLYGONAL"],
        CenterOfCircularShutter=[30, 20],  # row\column
        RadiusOfCircularShutter=15,
        VerticesOfThePolygonalShutter=[1, 2, 1, 60, 50, 30],
        ShutterPresentationValue=32768,
    )
    shapes = described["shutters"]["shapes"]
    assert shapes == [
        {"shape": "CIRCULAR", "center": [20.0, 30.0], "radius": 15.0},
        {"shape": "POLYGONAL", "points": [[2.0, 1.0], [60.0, 1.0], [30.0, 50.0]]},
    ]
    assert described["shutters"]["colour"] == "#808080"


def test_it_says_a_bitmap_shutter_is_not_shown():
    described = state(ShutterShape="BITMAP", ShutterOverlayGroup=0x6000)
    assert described["shutters"] is None
    assert described["not_shown"] == ["a bitmap shutter (not supported)"]


def test_it_lists_overlays_and_unsupported_luts_as_not_shown():
    ds = gen.gsps(gen.ct_slices())
    ds.add_new(0x60000010, "US", 64)
    ds.add_new(0x60000011, "US", 64)
    ds.PresentationLUTSequence = [gen.item(LUTDescriptor=[2, 0, 16], LUTData=[0, 1])]
    described = describe(ds)
    assert described["not_shown"] == [
        "a presentation LUT table (not supported)",
        "overlay planes (1)",
    ]


def test_it_refuses_another_sop_class():
    with pytest.raises(NotAPresentationState):
        describe(gen.ct_slices()[0])


def test_it_refuses_a_file_that_is_not_dicom(tmp_path):
    path = tmp_path / "not.dcm"
    path.write_bytes(b"not dicom at all")
    with pytest.raises(NotAPresentationState):
        read_presentation_state(path)


@pytest.mark.django_db
def test_it_lists_a_study_states_through_the_archive(tmp_path):
    report = Importer().run(gen.write_study(tmp_path))
    assert not report.rejected
    study = Study.objects.get(study_uid=gen.STUDY_UID)
    (listed,) = study_presentation_states(study)
    assert listed["sop_instance_uid"] == gen.GSPS_UID
    assert len(listed["applies_to"][gen.SERIES_UID]) == gen.SLICES
    assert states_by_series([listed]) == {gen.SERIES_UID: [gen.GSPS_UID]}
    # Its own series holds no image: not one the strip offers as images.
    assert study.series_without_images(presentation_instances()) == {gen.uid("gsps series")}


@pytest.mark.django_db
def test_it_counts_references_to_images_not_in_the_study(tmp_path):
    paths = gen.write_study(tmp_path)
    ds = pydicom.dcmread(paths[-1])
    absent = gen.item(ReferencedSOPClassUID="1.2", ReferencedSOPInstanceUID="1.2.3.4.5.6")
    ds.ReferencedSeriesSequence[0].ReferencedImageSequence.append(absent)
    other = gen.item(SeriesInstanceUID="1.2.3.9", ReferencedImageSequence=[absent])
    ds.ReferencedSeriesSequence.append(other)
    ds.save_as(paths[-1])
    assert not Importer().run(paths).rejected
    (listed,) = study_presentation_states(Study.objects.get(study_uid=gen.STUDY_UID))
    assert list(listed["applies_to"]) == [gen.SERIES_UID]
    assert len(listed["applies_to"][gen.SERIES_UID]) == gen.SLICES
    assert listed["not_shown"] == ["1 referenced image is not in this study"]


@pytest.mark.django_db
def test_it_leaves_out_a_state_with_no_image_here(tmp_path):
    paths = gen.write_study(tmp_path)
    # Only the GSPS arrives: nothing to apply it to.
    assert not Importer().run([paths[-1]]).rejected
    assert study_presentation_states(Study.objects.get(study_uid=gen.STUDY_UID)) == []
