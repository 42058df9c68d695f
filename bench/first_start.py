"""A first start on a clean clone, timed as a newcomer lives it (issue 21).

Clones this repository's HEAD into a temporary folder, then times, in one run:
``make venv codecs`` (the install), ``make run`` until the login page answers, until
the demo study is in the archive, and until the demo remote node serves; then a second
``make run`` until it answers; and what ``var/`` holds. Seconds are this machine's
(2 cores, noisy): read them beside each other, not as promises.

    .venv/bin/python bench/first_start.py [--keep]
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, free_port  # noqa: E402

MILESTONES = {
    "demo study in the archive": "Demo study ready",
    "demo remote node serving": "Demo remote node at",
}


def clean_environment(port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PACSWEB_", "VIRTUAL_ENV"))}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    env["PACSWEB_DEMO_NODE_PORT"] = str(free_port())
    env["PACSWEB_DICOM_PORT"] = str(free_port())
    return env


def timed_run(checkout: Path, env: dict, port: int, wait_for: dict[str, str]) -> dict[str, float]:
    """``make run`` until the login page answers and each line in ``wait_for`` is printed."""
    log = checkout / f"run-{time.monotonic_ns()}.log"
    started = time.monotonic()
    process = subprocess.Popen(
        ["make", "run", f"ARGS=--port {port}"],
        cwd=checkout,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    times: dict[str, float] = {}
    try:
        while len(times) < len(wait_for) + 1:
            if process.poll() is not None:
                raise SystemExit(f"make run exited:\n{log.read_text()}")
            if "login page answers" not in times and _answers(port):
                times["login page answers"] = time.monotonic() - started
            text = log.read_text()
            for name, line in wait_for.items():
                if name not in times and line in text:
                    times[name] = time.monotonic() - started
            time.sleep(0.1)
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=60)
    return times


def _answers(port: int) -> bool:
    import httpx

    try:
        return httpx.get(f"http://127.0.0.1:{port}/login/", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def megabytes(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the clone for a look")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pacsweb-first-start-"))
    checkout = work / "pacsweb"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(checkout)], check=True)
    port = free_port()
    env = clean_environment(port)
    try:
        started = time.monotonic()
        subprocess.run(
            ["make", "venv", "codecs"], cwd=checkout, env=env, check=True, stdout=subprocess.DEVNULL
        )
        install = time.monotonic() - started
        python = subprocess.run(
            [str(checkout / ".venv/bin/python"), "--version"], capture_output=True, text=True
        ).stdout.strip()
        first = timed_run(checkout, env, port, MILESTONES)
        var_first = megabytes(checkout / "var")
        again = timed_run(checkout, env, port, {"demo remote node serving": "Demo remote node at"})
        head = subprocess.check_output(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
        print(f"clean clone of {head.decode().strip()}, {python}")
        print(f"make venv codecs (install)            {install:6.1f} s")
        for name, seconds in first.items():
            print(f"first make run: {name:<24}{seconds:6.1f} s")
        for name, seconds in again.items():
            print(f"second make run: {name:<23}{seconds:6.1f} s")
        print(f"var/ after the first start            {var_first:6.0f} MB")
    finally:
        if options.keep:
            print(f"kept: {checkout}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
