"""patient_orientation_of: PatientOrientation's two directions, or None when it is not two."""

from pydicom import Dataset

from viewer.imaging.geometry import patient_orientation_of


def _with(value: object) -> Dataset:
    dataset = Dataset()
    dataset.PatientOrientation = value
    return dataset


def test_it_reads_the_row_and_column_directions():
    assert patient_orientation_of(_with(["a", "FL"])) == ["A", "FL"]
    assert patient_orientation_of(_with("P\\FR")) == ["P", "FR"]


def test_it_leaves_a_single_value_unsaid_rather_than_splitting_its_letters():
    # "FL" is one direction, not a row "F" and a column "L".
    assert patient_orientation_of(_with("FL")) is None
    assert patient_orientation_of(_with("AL")) is None


def test_it_leaves_three_values_or_an_absent_orientation_unsaid():
    assert patient_orientation_of(_with(["A", "F", "L"])) is None
    assert patient_orientation_of(Dataset()) is None
