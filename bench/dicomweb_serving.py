"""WADO-RS instances and frames served a second, ours against Orthanc's, 1 and 6 clients.

Run: .venv/bin/python bench/dicomweb_serving.py [--rounds 3] [--quick] [--max-seconds 600]
About 2 minutes (the study is written once into ``--cache``); ``--quick`` is a smoke run.

One ``manage.py serve --no-demo --no-scp`` (a copy of the work tree taken at the start,
its own data folder, ``bench/common.py``'s ``running_server``) holding a generated CT
series of 100 axial images, 512x512 16-bit (12 bits stored), imported with
``manage.py import_dicom``; every request carries ``Authorization: Bearer`` with an API
token issued to a user made for the run (as a machine client signs in). Debian's Orthanc
with orthanc-dicomweb (``tests/orthanc.py``) holds the same files. All on 127.0.0.1.

Each variant is warmed first (everything fetched once). Then, taking turns, each is
timed with 1 and 6 clients: a client is one thread with one kept-alive httpx connection
fetching every image of the series once in its own seeded random order (bodies read off
the wire, never decoded; ``bench/frame_serving.py``'s ``frames_per_second``). Variants:
- instance: ``GET /dicom-web/studies/{}/series/{}/instances/{}`` with
  ``Accept: multipart/related; type="application/dicom"; transfer-syntax=*``;
- frame: ``GET .../instances/{}/frames/1`` with
  ``Accept: multipart/related; type="application/octet-stream"``;
both with ``Accept-Encoding: identity``. Ratios are ours / Orthanc (above 1: ours is
faster). The run stops measuring after ``--max-seconds`` and prints what it has. Nothing
is asserted; the machine is shared and noisy.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import cached_study, load_average, running_server, snapshot_code  # noqa: E402
from bench.frame_serving import (  # noqa: E402
    Variant,
    frames_of,
    frames_per_second,
    start_orthanc,
)

CLIENTS = (1, 6)
KINDS = {
    "instance": ('multipart/related; type="application/dicom"; transfer-syntax=*', ""),
    "frame": ('multipart/related; type="application/octet-stream"', "/frames/1"),
}
# Run inside the server's data folder: a user for the run and a token for it.
ISSUE_TOKEN = """
from django.contrib.auth import get_user_model
from viewer.accounts.tokens import issue_token
user, _ = get_user_model().objects.get_or_create(username="bench-robot")
print(issue_token(user, "dicomweb bench")[1])
"""


def issue_token_in(work: Path, code: Path) -> str:
    """A new API token of a user in the data folder that ``running_server`` used."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["PACSWEB_DATA"] = str(work / "data")
    done = subprocess.run(
        [sys.executable, str(code / "manage.py"), "shell", "-c", ISSUE_TOKEN],
        env=env,
        cwd=code,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip().splitlines()[-1]


def variant(server: str, kind: str, base: str, token: str | None) -> Variant:
    accept, suffix = KINDS[kind]

    def url(frame):
        study, series, sop = frame
        return f"/dicom-web/studies/{study}/series/{series}/instances/{sop}{suffix}"

    headers = {"Accept": accept, "Accept-Encoding": "identity"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return Variant(f"{server} {kind}", base, url, headers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds; medians are printed")
    parser.add_argument("--max-seconds", type=float, default=600, help="stop measuring after")
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "pacsweb-bench-dicomweb",
        help="where the study is written once and kept",
    )
    parser.add_argument("--quick", action="store_true", help="a 256x256, 20-image smoke run")
    args = parser.parse_args()

    from viewer.demo.ct_study import DemoCTSpec

    count = 20 if args.quick else 100
    spec = DemoCTSpec(
        seed=2026, matrix=256 if args.quick else 512, thick_slices=count, thin_slices=0,
        coronal_slices=0,
    )  # fmt: skip
    # The axial series only (s02): one CT series, no localizer.
    files = sorted(cached_study(args.cache, spec).glob("s02/*.dcm"))
    frames = frames_of(files)
    print(f"{len(files)} images, {spec.matrix}x{spec.matrix} 16-bit; load {load_average()}")

    with tempfile.TemporaryDirectory(prefix="pacsweb-dicomweb-") as folder, ExitStack() as stack:
        work = Path(folder)
        code = snapshot_code(work / "now")
        (work / "ours").mkdir()
        ours = stack.enter_context(
            running_server(work / "ours", files, code, log=work / "ours.log")
        )
        token = issue_token_in(work / "ours", code)
        orthanc = start_orthanc(stack, work, files)
        variants = [
            variant(server, kind, base, key)
            for kind in KINDS
            for server, base, key in (("ours", ours, token), ("Orthanc", orthanc, None))
        ]
        for each in variants:  # warm: everything once
            frames_per_second(each, frames, 1, seed=0)

        results: dict[tuple[str, int], list[float]] = {}
        deadline = time.monotonic() + args.max_seconds
        rounds_done = 0
        for round_number in range(args.rounds):
            if time.monotonic() > deadline:
                print(f"--max-seconds reached after {rounds_done} round(s)")
                break
            order = variants if round_number % 2 == 0 else variants[::-1]
            for clients in CLIENTS:
                for each in order:
                    rate, _ = frames_per_second(each, frames, clients, seed=round_number + 1)
                    results.setdefault((each.name, clients), []).append(rate)
            rounds_done += 1

    print(f"{rounds_done} rounds, medians, requests/s; ratio = ours / Orthanc")
    for kind in KINDS:
        unit = "instances/s" if kind == "instance" else "frames/s"
        for clients in CLIENTS:
            mine = statistics.median(results[(f"ours {kind}", clients)])
            theirs = statistics.median(results[(f"Orthanc {kind}", clients)])
            print(
                f"  {kind:<8} {clients} client{'s' if clients > 1 else ' '}: "
                f"ours {mine:7.1f} {unit:<11}  Orthanc {theirs:7.1f}  "
                f"ratio {mine / theirs:5.2f}"
            )
    print(f"load average (1 min) at the end: {load_average()}")


if __name__ == "__main__":
    main()
