"""Where a study's instance is stored: one lookup the frame views make per request."""

from viewer.archive.models import Instance, Study


def test_it_finds_the_file_of_the_studys_instance(small_ct):
    instance = Instance.objects.select_related("series__study").first()
    study_uid = instance.series.study.study_uid
    assert Instance.stored_file_path(study_uid, instance.sop_instance_uid) == instance.file_path


def test_it_finds_nothing_for_an_instance_asked_for_under_another_study(small_ct):
    instance = Instance.objects.first()
    other = Study.objects.create(study_uid="1.2.3.999", patient=instance.series.study.patient)
    assert Instance.stored_file_path(other.study_uid, instance.sop_instance_uid) is None


def test_it_finds_nothing_for_an_unknown_instance(small_ct):
    study_uid = Study.objects.get().study_uid
    assert Instance.stored_file_path(study_uid, "1.2.3.4.5") is None
