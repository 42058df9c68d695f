"""Fixtures for DICOMweb interop: our real ASGI app served over HTTP, a small study with
one compressed instance, and a machine user with a password and an API token."""

import dataclasses
import threading
import time
from pathlib import Path

import numpy as np
import pydicom
import pytest
import uvicorn
from django.contrib.auth import get_user_model
from pydicom.uid import JPEGLSLossless

from tests.base import SMALL_CT, free_port
from viewer.demo.ct_study import study_uid, write_demo_ct

# One localizer and five axial slices at 64x64; the last slice is stored JPEG-LS lossless.
INTEROP_CT = dataclasses.replace(
    SMALL_CT,
    seed=2020,
    thick_slices=5,
    thin_slices=0,
    coronal_slices=0,
    patient_name="Interop^Ingrid",
    patient_id="PW-DW-2020",
)
# A second study, made outside our archive: what peers push to us with STOW-RS.
PUSHED_CT = dataclasses.replace(
    INTEROP_CT, seed=2021, thick_slices=3, patient_name="Pushed^Paul", patient_id="PW-DW-2021"
)
MACHINE_USER = "dicomweb-robot"
MACHINE_PASSWORD = "robot-secret-pw-20"


def write_study(folder: Path, spec) -> list[Path]:
    """The generated study for ``spec``, its last file re-encoded JPEG-LS lossless."""
    files = sorted(write_demo_ct(folder, spec))
    dataset = pydicom.dcmread(files[-1])
    dataset.compress(JPEGLSLossless)
    dataset.save_as(files[-1], enforce_file_format=True)
    return files


@pytest.fixture(scope="session")
def interop_files(tmp_path_factory) -> list[Path]:
    """The interop study's files (written once per session)."""
    return write_study(tmp_path_factory.mktemp("interop_ct"), INTEROP_CT)


@pytest.fixture(scope="session")
def pushed_files(tmp_path_factory) -> list[Path]:
    """The study that peers send us (written once per session)."""
    return write_study(tmp_path_factory.mktemp("pushed_ct"), PUSHED_CT)


@pytest.fixture
def interop_study(transactional_db, interop_files) -> str:
    """The interop study imported into this test's archive; returns its Study UID."""
    from viewer.archive.importer import Importer

    report = Importer().run(interop_files)
    assert not report.rejected
    return study_uid(INTEROP_CT)


@pytest.fixture(scope="session")
def live_url(django_db_setup, django_db_blocker) -> str:
    """Our ASGI application (``pacsweb.asgi``, every middleware) served by uvicorn, the
    server ``manage.py serve`` runs, in a thread of this process: it sees the test
    database (a file) and this test's settings. Tests using it need a transactional db."""
    from pacsweb.asgi import application

    port = free_port()
    config = uvicorn.Config(
        application, host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="live-dicomweb", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the live server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=20)


@pytest.fixture
def machine_user(transactional_db):
    """A user that machines sign in as with HTTP Basic; it may store instances (STOW-RS),
    as a PACS or an AI tool sending results would."""
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.create_user(MACHINE_USER, password=MACHINE_PASSWORD)
    user.user_permissions.add(Permission.objects.get(codename="add_instance"))
    return user


@pytest.fixture
def api_token(machine_user) -> str:
    """A personal API token of ``machine_user``, as the admin shows it once."""
    from viewer.accounts.tokens import issue_token

    _, token_text = issue_token(machine_user, "interop tests")
    return token_text


def our_pixels(sop_instance_uid: str) -> np.ndarray:
    """The pixels of one instance as our archive stores it."""
    from viewer.archive.models import Instance
    from viewer.archive.storage import absolute_path

    stored = Instance.objects.get(sop_instance_uid=sop_instance_uid)
    return pydicom.dcmread(absolute_path(stored.file_path)).pixel_array


def source_pixels(files: list[Path]) -> dict[str, np.ndarray]:
    """SOP Instance UID -> pixels of each generated file."""
    return {
        (dataset := pydicom.dcmread(path)).SOPInstanceUID: dataset.pixel_array for path in files
    }
