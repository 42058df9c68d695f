"""A real Orthanc (Debian's ``orthanc`` and ``orthanc-dicomweb``) for interop tests."""

import json
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.base import free_port, require_peer

DICOMWEB_PLUGIN = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"


class Orthanc:
    """One Orthanc with its own storage and ports; it knows ``known_aets`` as modalities
    (AE title -> port on 127.0.0.1) and checks the AE title it is called by.
    ``extra_config`` is merged into its configuration, one level deep (a ``"DicomWeb"``
    given there adds to the plugin's section rather than replacing it)."""

    aet = "ORTHANC"

    def __init__(
        self,
        folder: Path,
        known_aets: dict[str, int] | None = None,
        extra_config: dict | None = None,
    ) -> None:
        self.folder = folder
        self.http_port, self.dicom_port = free_port(), free_port()
        self.known_aets = known_aets or {}
        self.extra_config = extra_config or {}
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def dicomweb_url(self) -> str:
        return f"{self.url}/dicom-web"

    @property
    def wado_uri_url(self) -> str:
        return f"{self.url}/wado"

    def start(self) -> "Orthanc":
        executable = require_peer("Orthanc")
        if not Path(DICOMWEB_PLUGIN).exists():
            require_peer(DICOMWEB_PLUGIN)
        storage = self.folder / "storage"
        storage.mkdir(parents=True, exist_ok=True)
        config = {
            "Name": "PACSweb test peer",
            "StorageDirectory": str(storage),
            "IndexDirectory": str(storage),
            "HttpPort": self.http_port,
            "DicomPort": self.dicom_port,
            "DicomAet": self.aet,
            "DicomCheckCalledAet": True,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": False,
            "DicomModalities": {
                aet.lower(): {
                    "AET": aet,
                    "Host": "127.0.0.1",
                    "Port": port,
                    "AllowEcho": True,
                    "AllowFind": True,
                    "AllowGet": True,
                    "AllowMove": True,
                    "AllowStore": True,
                }
                for aet, port in self.known_aets.items()
            },
            "Plugins": [DICOMWEB_PLUGIN],
            "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "EnableWado": True},
        }
        for key, value in self.extra_config.items():
            if isinstance(value, dict) and isinstance(config.get(key), dict):
                config[key] = {**config[key], **value}
            else:
                config[key] = value
        path = self.folder / "orthanc.json"
        path.write_text(json.dumps(config))
        log = (self.folder / "orthanc.log").open("w")
        self.process = subprocess.Popen(
            [executable, str(path)], stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"Orthanc exited: {(self.folder / 'orthanc.log').read_text()}")
            try:
                if httpx.get(f"{self.url}/system", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        pytest.fail("Orthanc did not answer within 30 s")

    def upload(self, paths: list[Path]) -> None:
        """Store files in Orthanc through its REST API."""
        with httpx.Client(base_url=self.url, timeout=30) as client:
            for path in paths:
                response = client.post("/instances", content=path.read_bytes())
                assert response.status_code == 200, response.text

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def __enter__(self) -> "Orthanc":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
