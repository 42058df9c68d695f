"""Throw bad input at a running PACSweb (web, WebSocket, sign-in, DICOM) and count outcomes.

Run: .venv/bin/python bench/bad_inputs.py
Starts ``manage.py serve`` on a fresh embedded archive with a small CT study, then tries
each bad input once and checks the answer a careful server gives (400/404, a refusal, a
failure status, a closed socket); it prints a table per kind, any unexpected answer, and
whether the server log holds a traceback or the study's patient name. Loopback only.
"""

import asyncio
import copy
import json
import re
import socket
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import websockets  # noqa: E402
from pydicom import dcmread  # noqa: E402

from bench.common import PASSWORD, free_port, running_server  # noqa: E402
from viewer.demo.ct_study import DemoCTSpec, write_demo_ct  # noqa: E402

SPEC = DemoCTSpec(matrix=64, thick_slices=4, thin_slices=8, coronal_slices=2)
BAD_UIDS = [
    "1..2",
    "1.2.",
    ".1.2",
    "a.b.c",
    "1.02.3",
    "1" * 65,
    "1.2.3;DROP TABLE",
    "1.2.3%00",
    "..%2F..%2Fetc",
    "1.2.3%2F..",
    "%E2%80%AE1.2",
    "1.2.3 4",
]
UNKNOWN_UID = "1.2.826.0.1.3680043.8.498.999999999"


class Tally:
    """Outcomes per kind of bad input; an unexpected answer is kept to print."""

    def __init__(self) -> None:
        self.tried: dict[str, int] = defaultdict(int)
        self.expected: dict[str, int] = defaultdict(int)
        self.server_errors: dict[str, int] = defaultdict(int)
        self.surprises: list[str] = []

    def check(self, kind: str, what: str, ok: bool, answer: str, server_error=False) -> None:
        self.tried[kind] += 1
        self.expected[kind] += ok
        self.server_errors[kind] += server_error
        if not ok:
            self.surprises.append(f"{kind}: {what} -> {answer}")


def study_uids(folder: Path) -> dict[str, str]:
    """One study, series and instance UID of the generated study."""
    dataset = dcmread(next(folder.rglob("*.dcm")), stop_before_pixels=True)
    return {
        "study": dataset.StudyInstanceUID,
        "series": dataset.SeriesInstanceUID,
        "instance": dataset.SOPInstanceUID,
        "patient_name": str(dataset.PatientName).split("=")[0].replace("^", " "),
    }


def routes(uids: dict[str, str]) -> list[tuple[str, str]]:
    """(method, path template) of every route that takes a UID; {s}, {r}, {i} are filled."""
    return [
        ("GET", "/studies/{s}/"),
        ("GET", "/studies/{s}/view/"),
        ("GET", "/studies/{s}/series/{r}/thumbnail.png"),
        ("GET", "/studies/{s}/documents/{i}/"),
        ("GET", "/studies/{s}/documents/{i}/document.pdf"),
        ("GET", "/api/studies/{s}/hangings/"),
        ("GET", "/api/studies/{s}/measurements/"),
        ("GET", "/api/studies/{s}/measurements/export.json"),
        ("GET", "/api/studies/{s}/measurements/export.dcm"),
        ("GET", "/api/studies/{s}/series/{r}/metadata/"),
        ("GET", "/api/studies/{s}/series/{r}/frames/raw"),
        ("GET", "/api/studies/{s}/instances/{i}/tags/"),
        ("GET", "/api/studies/{s}/instances/{i}/frames/1/raw"),
        ("GET", "/api/studies/{s}/instances/{i}/frames/1/rendered"),
        ("POST", "/api/studies/{s}/film.pdf"),
        ("POST", "/api/studies/{s}/measurements/"),
    ]


def fill(template: str, uids: dict[str, str], bad: str, where: str) -> str:
    """The route with the real UIDs, except ``where`` (s, r or i), which gets ``bad``."""
    values = {"s": uids["study"], "r": uids["series"], "i": uids["instance"]}
    values[where] = bad
    return template.format(**values)


def post_login(client: httpx.Client, password: str) -> httpx.Response:
    """The sign-in form posted as the administrator, with ``password``."""
    page = client.get("/login/").text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    return client.post(
        "/login/",
        data={
            "username": "admin",
            "password": password,
            "csrfmiddlewaretoken": token.group(1) if token else "",
        },
    )


def sign_in(client: httpx.Client) -> None:
    """Sign ``client`` in as the administrator the server was started with."""
    answer = post_login(client, PASSWORD)
    assert answer.status_code in (200, 302) and "sessionid" in client.cookies, "sign-in failed"


def web_routes(base: str, uids: dict[str, str], tally: Tally) -> None:
    """Malformed and unknown UIDs in every route, signed in; and every route anonymous."""
    with httpx.Client(base_url=base, timeout=30) as client:
        sign_in(client)
        headers = {"X-CSRFToken": client.cookies["csrftoken"], "Content-Type": "application/json"}
        for method, template in routes(uids):
            for where in "sri":
                if "{" + where + "}" not in template:
                    continue
                for bad in [*BAD_UIDS, UNKNOWN_UID]:
                    path = fill(template, uids, bad, where)
                    answer = client.request(method, path, headers=headers, content=b"{}")
                    kind = "unknown UID" if bad == UNKNOWN_UID else "malformed UID"
                    tally.check(
                        f"web: {kind}",
                        f"{method} {path}",
                        answer.status_code in (400, 404),
                        str(answer.status_code),
                        answer.status_code >= 500,
                    )
    with httpx.Client(base_url=base, timeout=30) as anonymous:
        for method, template in [*routes(uids), ("GET", "/"), ("GET", "/api/studies/")]:
            path = fill(template, uids, uids["study"], "s")
            answer = anonymous.request(method, path)
            refused = answer.status_code in (302, 401, 403) and uids["patient_name"] not in (
                answer.text
            )
            tally.check(
                "web: anonymous caller",
                f"{method} {path}",
                refused,
                str(answer.status_code),
                answer.status_code >= 500,
            )


def json_bodies(base: str, uids: dict[str, str], tally: Tally) -> None:
    """Nested, oversized, malformed and wrong-shape JSON to every JSON endpoint."""
    bodies = {
        "nested 100k deep": b"[" * 100_000 + b"]" * 100_000,
        "nested objects": b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
        "not JSON": b"\xff\xfe<xml/>",
        "truncated": b'{"kind": "length", "points": [[1,',
        "a list": b"[1, 2, 3]",
        "a number": b"12",
        "huge string (20 MB)": b'{"label": "' + b"x" * 20_000_000 + b'"}',
        "NaN and Infinity": b'{"kind": "length", "points": [[NaN, Infinity], [1, 2]]}',
    }
    endpoints = [
        f"/api/studies/{uids['study']}/measurements/",
        f"/api/studies/{uids['study']}/film.pdf",
        f"/api/studies/{UNKNOWN_UID}/measurements/",
    ]
    with httpx.Client(base_url=base, timeout=60) as client:
        sign_in(client)
        token = client.cookies["csrftoken"]
        for endpoint in endpoints:
            for name, body in bodies.items():
                answer = client.post(
                    endpoint,
                    content=body,
                    headers={"X-CSRFToken": token, "Content-Type": "application/json"},
                )
                tally.check(
                    "web: bad JSON",
                    f"{name} to {endpoint}",
                    answer.status_code in (400, 404, 413),
                    str(answer.status_code),
                    answer.status_code >= 500,
                )
            answer = client.post(endpoint, content=b"{}", headers={"Origin": "http://evil.test"})
            tally.check(
                "web: no CSRF token / foreign origin",
                endpoint,
                answer.status_code == 403,
                str(answer.status_code),
                answer.status_code >= 500,
            )


async def _socket_answer(url: str, cookies: str, origin: str, message: str | None) -> str:
    """How the server ends a WebSocket session: 'refused', 'closed <code>' or 'open'."""
    try:
        async with websockets.connect(
            url, additional_headers={"Cookie": cookies, "Origin": origin}, open_timeout=10
        ) as socket_:
            if message is not None:
                await socket_.send(message)
            try:
                while True:
                    reply = await asyncio.wait_for(socket_.recv(), timeout=3)
                    if '"error"' in str(reply):
                        return "error message"
            except websockets.ConnectionClosed as closed:
                return f"closed {closed.rcvd.code if closed.rcvd else 'without a close frame'}"
            except TimeoutError:
                return "open"
    except websockets.InvalidStatus as refused:
        return f"refused {refused.response.status_code}"


def web_sockets(base: str, uids: dict[str, str], tally: Tally) -> None:
    """Bad paths, foreign origins and bad messages on the study WebSocket."""
    with httpx.Client(base_url=base, timeout=30) as client:
        sign_in(client)
        cookies = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    ws_base = base.replace("http", "ws", 1)
    good = f"{ws_base}/ws/studies/{uids['study']}/"

    def run(kind, what, url, origin, message, ok) -> None:
        answer = asyncio.run(_socket_answer(url, cookies, origin, message))
        tally.check(kind, what, ok(answer), answer, "500" in answer)

    for bad in ["1" * 65, "1..2", "x" * 300, "a.b"]:
        run(
            "websocket: bad path",
            bad[:20],
            f"{ws_base}/ws/studies/{bad}/",
            base,
            None,
            lambda a: a.startswith("closed 44") or a.startswith("refused 4"),
        )
    run(
        "websocket: bad path",
        "unknown route",
        f"{ws_base}/ws/nope/",
        base,
        None,
        lambda a: a.startswith("closed 44") or a.startswith("refused 4"),
    )
    for origin in ["http://evil.test", base.rsplit(":", 1)[0] + ":1"]:
        run(
            "websocket: foreign origin",
            origin,
            good,
            origin,
            None,
            lambda a: a.startswith("refused 403"),
        )
    messages = {
        "nested": "[" * 50_000 + "]" * 50_000,
        "oversized": json.dumps({"type": "focus", "series_uid": "1" * 70_000}),
        "not JSON": "\x00\xff not json",
        "unknown type": json.dumps({"type": "drop-tables"}),
        "focus without a series": json.dumps({"type": "focus"}),
    }
    for name, message in messages.items():
        run(
            "websocket: bad message",
            name,
            good,
            base,
            message,
            lambda a: a in ("error message", "open") or a.startswith("closed 10"),
        )


def sign_in_throttling(base: str, tally: Tally) -> None:
    """Wrong passwords until the pair is locked out; then the right one must be refused."""
    with httpx.Client(base_url=base, timeout=30) as client:
        wrong = 0
        for attempt in range(10):
            answer = post_login(client, f"wrong-{attempt}")
            wrong += 1
            if answer.status_code in (403, 429):
                break
        answer = post_login(client, PASSWORD)
        tally.check(
            "sign-in: right password after lockout",
            f"after {wrong} wrong passwords",
            answer.status_code in (403, 429) and "sessionid" not in client.cookies,
            str(answer.status_code),
            answer.status_code >= 500,
        )
        tally.lockout_after = wrong


def dicom_side(dicom_port: int, tally: Tally, files: list[Path]) -> None:
    """Unknown callers' queries, malformed stores, idle and garbage connections."""
    from pynetdicom import AE
    from pynetdicom.sop_class import CTImageStorage, StudyRootQueryRetrieveInformationModelFind

    ae = AE(ae_title="STRANGER")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
    association = ae.associate("127.0.0.1", dicom_port, ae_title="PACSWEB")
    refused = not association.is_established or not any(
        context.abstract_syntax == StudyRootQueryRetrieveInformationModelFind
        for context in association.accepted_contexts
    )
    if association.is_established:
        association.release()
    tally.check("dicom: C-FIND from an unknown AE", "STRANGER", refused, str(refused))

    good = dcmread(files[0])
    store = AE(ae_title="MODALITY")
    store.add_requested_context(CTImageStorage)
    broken = {
        "no SOP Instance UID": _without(good, "SOPInstanceUID"),
        "no Study Instance UID": _without(good, "StudyInstanceUID"),
        "malformed UID": _with(good, "StudyInstanceUID", "1..2"),
        "pixel data cut short": _with(good, "PixelData", good.PixelData[:100]),
        "65-char SOP Instance UID": _with(good, "SOPInstanceUID", "1." + "2" * 63),
    }
    for name, dataset in broken.items():
        association = store.associate("127.0.0.1", dicom_port, ae_title="PACSWEB")
        try:
            status = association.send_c_store(dataset) if association.is_established else None
        except (ValueError, AttributeError) as refused:
            # pynetdicom will not put this one on the wire (its own check): not tried.
            print(f"not sent: {name}: {refused}")
            association.abort()
            continue
        code = getattr(status, "Status", None)
        if association.is_established:
            association.release()
        tally.check(
            "dicom: malformed C-STORE",
            name,
            code is not None and code != 0x0000,
            f"0x{code:04X}" if code is not None else "no answer",
        )

    for name, payload in {
        "garbage bytes": b"\x00" * 10 + b"GET / HTTP/1.1\r\n\r\n",
        "huge PDU length": b"\x01\x00" + (0xFFFFFFFF).to_bytes(4, "big") + b"\x00" * 64,
        "nothing (closed at once)": b"",
    }.items():
        with socket.create_connection(("127.0.0.1", dicom_port), timeout=15) as raw:
            raw.sendall(payload)
            try:
                raw.settimeout(15)
                closed = raw.recv(1024) is not None
            except OSError:
                closed = True
        tally.check("dicom: raw bad bytes", name, closed, "closed" if closed else "hung")

    idle = [socket.create_connection(("127.0.0.1", dicom_port)) for _ in range(20)]
    echo = AE(ae_title="WARD")
    echo.add_requested_context("1.2.840.10008.1.1")
    association = echo.associate(
        "127.0.0.1", dicom_port, ae_title="PACSWEB", bind_address=("127.0.0.2", 0)
    )
    answered = association.is_established and association.send_c_echo().Status == 0
    if association.is_established:
        association.release()
    for sock in idle:
        sock.close()
    tally.check(
        "dicom: 20 idle connections, then C-ECHO from another address",
        "C-ECHO",
        answered,
        str(answered),
    )


def _without(dataset, keyword: str):
    changed = copy.deepcopy(dataset)
    delattr(changed, keyword)
    return changed


def _with(dataset, keyword: str, value):
    changed = copy.deepcopy(dataset)
    setattr(changed, keyword, value)
    return changed


def main() -> None:
    tally = Tally()
    with tempfile.TemporaryDirectory(prefix="pacsweb-bad-inputs-") as work_name:
        work = Path(work_name)
        folder = work / "study"
        write_demo_ct(folder, SPEC)
        files = sorted(folder.rglob("*.dcm"))
        uids = study_uids(folder)
        dicom_port = free_port()
        log = work / "server.log"
        with running_server(work, [folder], log=log, dicom_port=dicom_port) as base:
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", dicom_port), timeout=0.5).close()
                    break
                except OSError:
                    time.sleep(0.2)
            started = time.monotonic()
            web_routes(base, uids, tally)
            json_bodies(base, uids, tally)
            web_sockets(base, uids, tally)
            dicom_side(dicom_port, tally, files)
            sign_in_throttling(base, tally)
            alive = httpx.get(base + "/login/", timeout=10).status_code == 200
            elapsed = time.monotonic() - started
        text = log.read_text(errors="replace")
    print(f"\n{'kind':<58} {'tried':>5} {'as expected':>11} {'5xx':>4}")
    for kind in tally.tried:
        print(
            f"{kind:<58} {tally.tried[kind]:>5} {tally.expected[kind]:>11} "
            f"{tally.server_errors[kind]:>4}"
        )
    total = sum(tally.tried.values())
    print(
        f"{'total':<58} {total:>5} {sum(tally.expected.values()):>11} "
        f"{sum(tally.server_errors.values()):>4}"
    )
    print(f"\nsign-in locked out after {getattr(tally, 'lockout_after', '?')} wrong passwords")
    print(f"server still answering afterwards: {alive}; {elapsed:.0f} s")
    print(f"tracebacks in the server log: {text.count('Traceback')}")
    for block in text.split("Traceback (most recent call last):")[1:]:
        lines = block.strip("\n").splitlines()
        last = next((i for i, line in enumerate(lines) if not line.startswith(" ")), 0)
        print("  traceback:", " | ".join(lines[max(0, last - 3) : last + 1])[:600])
    surname = uids["patient_name"].split()[0]
    print(
        f"log lines naming the patient ({surname!r}): "
        f"{sum(surname in line for line in text.splitlines())} of {len(text.splitlines())}"
    )
    for surprise in tally.surprises:
        print("UNEXPECTED", surprise)


if __name__ == "__main__":
    main()
