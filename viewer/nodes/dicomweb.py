"""DICOMweb client: QIDO-RS searches and a verification probe, with errors in words."""

import logging
import time
from collections.abc import Collection
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import httpx
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from .models import RemoteNode
from .outcomes import Step, Verification
from .tls import tls_context

ACCEPT = {"Accept": "application/dicom+json"}
STUDY_FIELDS = [
    "StudyInstanceUID",
    "StudyDescription",
    "NumberOfStudyRelatedSeries",
    "NumberOfStudyRelatedInstances",
    "ModalitiesInStudy",
]
SERIES_FIELDS = [
    "SeriesInstanceUID",
    "SeriesNumber",
    "Modality",
    "SeriesDescription",
    "NumberOfSeriesRelatedInstances",
]


WADO_RS_ACCEPT = 'multipart/related; type="application/dicom"; transfer-syntax=*'
# Answers to an Accept (or transferSyntax) the node will not serve: ask as stored instead,
# from now on for the whole job...
REFUSED_ACCEPT = (400, 406, 415)
# ... or for this instance only: Orthanc answers 500 to an image it cannot transcode
# (32-bit RT dose, lossy JPEG 2000) and serves it as stored.
NOT_TRANSCODED = (500, 501)

logger = logging.getLogger(__name__)


class DicomwebError(Exception):
    """The server could not be asked or answered badly; the message says why."""


def client(node: RemoteNode) -> httpx.Client:
    """An HTTP client for the node's DICOMweb service; reused, it keeps connections open."""
    timeout = httpx.Timeout(node.network_timeout, connect=node.connect_timeout)
    return httpx.Client(
        base_url=node.dicomweb_url.rstrip("/") + "/", timeout=timeout, verify=tls_context()
    )


def qido(
    node: RemoteNode,
    path: str,
    params: dict,
    session: httpx.Client | None = None,
    keep: Collection[str] = (),
) -> list[Dataset]:
    """GET a QIDO-RS resource and return its matches as pydicom data sets.

    ``session`` is a ``client(node)`` shared by several queries; without it, one is
    opened for this query alone. ``keep`` (keywords) drops every other attribute.
    """
    # Wildcards go as they are: PACS such as Orthanc match "%2A" as a literal "*".
    url = f"{path}?{urlencode(params, doseq=True, safe='*')}"
    try:
        if session is not None:
            response = session.get(url, headers=ACCEPT)
        else:
            with client(node) as own:
                response = own.get(url, headers=ACCEPT)
    except httpx.ConnectError as exc:
        raise DicomwebError(f"cannot connect to {node.dicomweb_url}: {_reason(exc)}") from exc
    except httpx.TimeoutException as exc:
        raise DicomwebError(f"{node.dicomweb_url} did not answer in time ({_reason(exc)})") from exc
    except httpx.HTTPError as exc:
        raise DicomwebError(f"HTTP error talking to {node.dicomweb_url}: {_reason(exc)}") from exc
    if response.status_code == 204:
        return []
    if response.status_code in (401, 403):
        raise DicomwebError(
            f"the server refused us (HTTP {response.status_code}): check credentials"
        )
    if response.status_code == 404:
        raise DicomwebError("no QIDO-RS service at this URL (HTTP 404): check the base URL")
    if response.status_code != 200:
        raise DicomwebError(f"the server answered HTTP {response.status_code}")
    try:
        items = response.json()
        if keep:
            # Parsing is what a long listing costs: skip what nobody reads.
            tags = {f"{tag_for_keyword(k):08X}" for k in (*keep, "SpecificCharacterSet")}
            items = [{k: v for k, v in item.items() if k.upper() in tags} for item in items]
        return [Dataset.from_json(item) for item in items]
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise DicomwebError("the answer is not DICOM JSON") from exc


def _reason(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def study_params(identifier: Dataset) -> dict:
    """QIDO-RS query parameters from a C-FIND style study identifier."""
    params: dict[str, object] = {"includefield": STUDY_FIELDS, "limit": 500}
    for keyword in (
        "PatientName",
        "PatientID",
        "AccessionNumber",
        "StudyDate",
        "ModalitiesInStudy",
    ):
        value = str(identifier.get(keyword, "") or "")
        if value:
            params[keyword] = value
    return params


def instance_url(
    node: RemoteNode,
    study_uid: str,
    series_uid: str,
    sop_instance_uid: str,
    as_stored: bool = False,
) -> tuple[str, str]:
    """The URL and Accept header that fetch one instance by the node's retrieve method,
    asking for the node's wanted transfer syntaxes unless ``as_stored``."""
    wanted = () if as_stored else node.wanted_transfer_syntaxes()
    if node.retrieve_method == RemoteNode.WADO_URI:
        params = {
            "requestType": "WADO",
            "studyUID": study_uid,
            "seriesUID": series_uid,
            "objectUID": sop_instance_uid,
            "contentType": "application/dicom",
        }
        if wanted:
            params["transferSyntax"] = wanted[0]  # WADO-URI takes one; a refusal falls back
        query = urlencode(
            params,
            safe="/",  # PACS such as Orthanc refuse contentType=application%2Fdicom
        )
        base = node.wado_uri_url or node.dicomweb_url
        return f"{base}{'&' if '?' in base else '?'}{query}", "application/dicom"
    if node.retrieve_method == RemoteNode.FILE_URL:
        url = node.file_url_template.format(
            study=quote(study_uid), series=quote(series_uid), instance=quote(sop_instance_uid)
        )
        return url, "application/dicom, */*"
    path = f"studies/{study_uid}/series/{series_uid}/instances/{sop_instance_uid}"
    return f"{node.dicomweb_url.rstrip('/')}/{path}", wado_rs_accept(wanted)


def wado_rs_accept(wanted: tuple[str, ...]) -> str:
    """One Accept header asking for ``wanted`` (best first) with q-values, then as stored.

    The media ranges go worst first: the q-values rank them for a server that reads
    them, and Orthanc (whose plugin takes the last range and ignores q) gets the best.
    """
    ranges = [f"{WADO_RS_ACCEPT}; q=0.1"] if wanted else [WADO_RS_ACCEPT]
    count = len(wanted)
    for rank, uid in reversed(list(enumerate(wanted))):
        quality = "" if rank == 0 else f"; q={0.9 - 0.8 * rank / count:.1f}"
        ranges.append(
            f'multipart/related; type="application/dicom"; transfer-syntax={uid}{quality}'
        )
    return ", ".join(ranges)


def as_stored(url: str, accept: str) -> tuple[str, str] | None:
    """The same instance request asking as stored (no ``transferSyntax``, any syntax);
    None if it already does."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    kept = [(k, v) for k, v in query if k != "transferSyntax"]
    if "transfer-syntax=" in accept and accept != WADO_RS_ACCEPT:
        accept = WADO_RS_ACCEPT
    elif kept == query:
        return None
    if kept != query:
        url = urlunsplit(parts._replace(query=urlencode(kept, safe="/")))
    return url, accept


def note_refusal(node: RemoteNode, status: int) -> None:
    """The node answered ``status`` to a compressed request: after a refusal (400/406/415)
    ask it as stored for the rest of the job (in memory) and say so once in the log; a
    500/501 concerns that instance alone (Orthanc's answer to one it cannot transcode)."""
    if status not in REFUSED_ACCEPT or node.compression_refused:
        return
    node.compression_refused = True
    logger.warning(
        "node %s refused compressed transfer syntaxes (HTTP %d): asking for the images "
        "as stored for the rest of this job",
        node.name,
        status,
    )


def verify(node: RemoteNode) -> Verification:
    """Ask for a study that does not exist (does the server answer QIDO-RS at all?),
    then fetch an instance that does not exist by the node's retrieve method."""
    start = time.perf_counter()
    try:
        matches = qido(node, "studies", {"StudyInstanceUID": generate_uid(), "limit": 1})
    except DicomwebError as exc:
        return Verification([Step("QIDO-RS", False, str(exc))])
    elapsed = (time.perf_counter() - start) * 1000
    found = Step(
        "QIDO-RS", True, f"the server answered ({len(matches)} matches, as expected)", elapsed
    )
    return Verification([found, _fetch_nothing(node)])


def _fetch_nothing(node: RemoteNode) -> Step:
    """GET an unknown instance the way a retrieve will: a 404 says the service is there."""
    name = node.get_retrieve_method_display()
    url, accept = instance_url(node, generate_uid(), generate_uid(), generate_uid())
    start = time.perf_counter()
    try:
        with httpx.Client(
            timeout=httpx.Timeout(node.network_timeout, connect=node.connect_timeout),
            verify=tls_context(),
        ) as http:
            response = http.get(url, headers={"Accept": accept})
    except httpx.HTTPError as exc:
        return Step(name, False, f"cannot fetch from {url.split('?')[0]}: {_reason(exc)}")
    elapsed = (time.perf_counter() - start) * 1000
    code = response.status_code
    if code == 404:
        return Step(
            name, True, "the server answered an unknown instance with 404, as expected", elapsed
        )
    if code in (401, 403):
        return Step(name, False, f"the server refused us (HTTP {code}): check credentials", elapsed)
    if code >= 500 or code == 200:
        return Step(
            name, False, f"the server answered an unknown instance with HTTP {code}", elapsed
        )
    return Step(
        name,
        None,
        f"the server answered an unknown instance with HTTP {code}, not 404: whether it "
        "serves ours shows at the first retrieve",
        elapsed,
    )
