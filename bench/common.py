"""What the benchmarks share: the demo study on disk, a PACSweb server, a signed-in page."""

import os
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password-123"
ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# What a snapshot of the work tree leaves out (see ``snapshot_code``).
SNAPSHOT_SKIP = (
    ".git",
    ".venv",
    "var",
    "test-artifacts",
    "__pycache__",
    ".hypothesis",
    ".pytest_cache",
    ".ruff_cache",
    "*.egg-info",
)


def snapshot_code(work: Path) -> Path:
    """A copy of the work tree in ``work/code`` for a server to run: files a person edits
    meanwhile cannot reach it halfway through a run."""
    code = work / "code"
    shutil.copytree(ROOT, code, ignore=shutil.ignore_patterns(*SNAPSHOT_SKIP))
    return code


@contextmanager
def running_server(
    work: Path,
    files: list[Path],
    code: Path = ROOT,
    log: Path | None = None,
    dicom_port: int | None = None,
    web_processes: int = 1,
):
    """``manage.py serve`` on the embedded default with ``files`` imported; yields its URL.

    ``code``: the tree whose ``manage.py`` runs (a ``snapshot_code`` copy, or the work
    tree); ``log``: a file for the server's output (else it is dropped); ``dicom_port``:
    where our SCP listens (else it is off); ``web_processes`` above 1 adds Redis
    (``REDIS_URL``, else 127.0.0.1:6379) for their live messages, still on SQLite.
    """
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
        "PACSWEB_DATA": str(work / "data"),
        "PACSWEB_ADMIN_PASSWORD": PASSWORD,
    }
    processes = []
    if web_processes > 1:
        env["REDIS_URL"] = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
        processes = ["--web-processes", str(web_processes)]
    manage = [sys.executable, str(code / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, cwd=code)
    subprocess.run(
        [*manage, "import_dicom", "--no-progress", *map(str, files)],
        env=env,
        check=True,
        capture_output=True,
        cwd=code,
    )
    port = free_port()
    output = open(log, "w") if log else subprocess.DEVNULL
    server = subprocess.Popen(
        [
            *manage,
            "serve",
            "--no-demo",
            "--port",
            str(port),
            *(["--dicom-port", str(dicom_port)] if dicom_port else ["--no-scp"]),
            *processes,
        ],
        env=env,
        cwd=code,
        stdout=output,
        stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait()
        if log:
            output.close()


def sign_in(page, base: str) -> None:
    """Sign the page in as the administrator the server was started with."""
    page.goto(base + "/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(base + "/")


def load_average() -> str:
    """The 1-minute load average (this machine may be shared), if the system tells."""
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def cached_study(cache: Path, spec) -> Path:
    """The demo study's files for ``spec``, written once into ``cache`` (shared by benches)."""
    from viewer.demo.ct_study import write_demo_ct

    name = (
        f"ct-{spec.seed}-m{spec.matrix}-"
        f"{spec.thick_slices}-{spec.thin_slices}-{spec.coronal_slices}"
    )
    folder = cache / name
    marker = folder / ".complete"
    if not marker.exists():
        shutil.rmtree(folder, ignore_errors=True)
        print(f"writing the demo study into {folder} (once) ...", flush=True)
        write_demo_ct(folder, spec)
        marker.touch()
    return folder
