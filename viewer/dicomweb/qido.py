"""QIDO-RS (PS3.18 10.6 Search): a query string becomes a C-FIND identifier, answered by
the archive's C-FIND matching (viewer.nodes.qr) and sent back as DICOM JSON."""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pydicom import config
from pydicom.datadict import dictionary_has_tag, dictionary_VR, keyword_for_tag, tag_for_keyword
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.tag import Tag

from viewer.nodes.qr import QueryError, answered_keywords, responses

# The C-FIND level of each QIDO resource (studies, series, instances).
STUDY, SERIES, IMAGE = "STUDY", "SERIES", "IMAGE"
RESOURCE_OF_LEVEL = {STUDY: "studies", SERIES: "series", IMAGE: "instances"}
# The most matches one request gets; a client pages on with ``offset``.
MAX_LIMIT = 1000
# Query parameters that are not attributes (PS3.18 8.3.4); ``accept`` is the view's.
_PARAMETERS = {"limit", "offset", "includefield", "fuzzymatching", "accept"}

# Default return attributes (PS3.18 Table 6.7.1-2, -2a, -2b) that the archive has values
# for. Those it does not keep (Timezone Offset From UTC, Bits Allocated, Performed
# Procedure Step Start Date/Time, Request Attribute Sequence) are left out, as Orthanc
# does for tags it does not index; asked for by includefield, they come back empty.
STUDY_DEFAULTS = (
    "StudyDate",
    "StudyTime",
    "AccessionNumber",
    "InstanceAvailability",
    "ModalitiesInStudy",
    "ReferringPhysicianName",
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyInstanceUID",
    "StudyID",
    "StudyDescription",  # not in the table, but every viewer's study list shows it
    "NumberOfStudyRelatedSeries",
    "NumberOfStudyRelatedInstances",
)
SERIES_DEFAULTS = (
    "Modality",
    "SeriesDescription",
    "SeriesInstanceUID",
    "SeriesNumber",
    "NumberOfSeriesRelatedInstances",
    "StudyInstanceUID",  # a series result names its study
)
INSTANCE_DEFAULTS = (
    "SOPClassUID",
    "SOPInstanceUID",
    "InstanceAvailability",
    "InstanceNumber",
    "Rows",
    "Columns",
    "NumberOfFrames",
    "SeriesInstanceUID",  # an instance result names its series and study
    "StudyInstanceUID",
)
# The keys qr.matches filters on, at each level (and the levels above it).
_STUDY_MATCHING = {
    "PatientName",
    "PatientID",
    "StudyInstanceUID",
    "AccessionNumber",
    "StudyDate",
    "ModalitiesInStudy",
}
MATCHING_KEYS = {
    STUDY: _STUDY_MATCHING,
    SERIES: _STUDY_MATCHING | {"SeriesInstanceUID", "Modality"},
    IMAGE: _STUDY_MATCHING | {"SeriesInstanceUID", "Modality", "SOPInstanceUID"},
}
# Attributes whose values may be given as a comma separated list (PS3.18 8.3.4.1).
_LIST_VRS = {"UI"}
_LIST_KEYWORDS = {"ModalitiesInStudy"}
_TAG = re.compile(r"[0-9A-Fa-f]{8}")
_NOT_RETURNED = ("SpecificCharacterSet", "QueryRetrieveLevel")


@dataclass(frozen=True)
class Paging:
    """Which page of the matches to send; ``capped`` when our maximum set the limit."""

    limit: int = MAX_LIMIT
    offset: int = 0
    capped: bool = True


def attribute_tag(name: str) -> int:
    """The tag of a keyword (``PatientName``) or an 8-digit hex tag (``00100010``).

    Raises ``QueryError`` for anything else, sequence paths (``00400275.00400009``) and
    private tags included.
    """
    if "." in name:
        raise QueryError(f"matching inside sequences is not supported: {name!r}")
    if _TAG.fullmatch(name):
        tag = Tag(int(name, 16))
        if not dictionary_has_tag(tag):
            raise QueryError(f"unknown or private attribute tag {name!r}")
        return int(tag)
    tag = tag_for_keyword(name)
    if tag is None:
        raise QueryError(f"unknown attribute or parameter {name!r}")
    return tag


def identifier_from_query(
    level: str, params: Mapping[str, Sequence[str]], path_uids: Mapping[str, str] | None = None
) -> Dataset:
    """The C-FIND identifier of a QIDO-RS query string at ``level`` (STUDY/SERIES/IMAGE).

    ``params`` maps each query parameter to its values (Django's ``QueryDict.lists()``,
    ``urllib.parse.parse_qs``); ``path_uids`` holds the path's StudyInstanceUID and
    SeriesInstanceUID. Return keys: the level's defaults, the ``includefield`` ones and
    every matching key. Raises ``QueryError`` for a parameter we cannot understand.
    """
    if level not in RESOURCE_OF_LEVEL:
        raise QueryError(f"unknown QIDO-RS level {level!r}")
    path_uids = dict(path_uids or {})
    identifier = Dataset()
    identifier.QueryRetrieveLevel = level
    includes: list[str] = []
    for name, values in params.items():
        if name in _PARAMETERS:
            if name == "includefield":
                includes += [part.strip() for value in values for part in value.split(",")]
            elif name == "fuzzymatching":
                _fuzzymatching(values)
            continue
        tag = attribute_tag(name)
        _set(identifier, tag, _match_value(tag, values))
    for keyword, uid in path_uids.items():
        _set(identifier, tag_for_keyword(keyword), uid)
    for keyword in _defaults(level, path_uids):
        _add_empty(identifier, tag_for_keyword(keyword))
    for name in includes:
        if name == "all":
            for keyword in answered_keywords(level):
                _add_empty(identifier, tag_for_keyword(keyword))
        elif name:
            _add_empty(identifier, attribute_tag(name))
    return identifier


def _fuzzymatching(values: Sequence[str]) -> None:
    # Our name matching is always as lenient as the study list's (see the notes), so
    # both answers mean the same here; anything else is a client's mistake.
    if any(value.strip().lower() not in ("true", "false") for value in values):
        raise QueryError("fuzzymatching must be true or false")


def _match_value(tag: int, values: Sequence[str]) -> str:
    """One matching value; UID lists may come comma separated or as repeated keys."""
    keyword = keyword_for_tag(tag)
    if dictionary_VR(tag) in _LIST_VRS or keyword in _LIST_KEYWORDS:
        parts = [part.strip() for value in values for part in value.split(",")]
        return "\\".join(part for part in parts if part)
    if len(values) > 1:
        raise QueryError(f"{keyword or f'{tag:08X}'} is given more than once")
    return values[0].strip() if values else ""


def _defaults(level: str, path_uids: Mapping[str, str]) -> list[str]:
    # PS3.18 6.7.1.2.2: a search not scoped to a study also returns the study's
    # attributes, and one not scoped to a series the series' ones.
    keywords = list(STUDY_DEFAULTS) if level == STUDY else []
    if level == SERIES:
        keywords += SERIES_DEFAULTS
        if "StudyInstanceUID" not in path_uids:
            keywords += STUDY_DEFAULTS
    if level == IMAGE:
        keywords += INSTANCE_DEFAULTS
        if "SeriesInstanceUID" not in path_uids:
            keywords += SERIES_DEFAULTS
        if "StudyInstanceUID" not in path_uids:
            keywords += STUDY_DEFAULTS
    return keywords


def _set(identifier: Dataset, tag: int, value: str) -> None:
    # Matching values are patterns and ranges ("wang*", "20240101-"): no VR validation.
    identifier[tag] = DataElement(tag, dictionary_VR(tag), value, validation_mode=config.IGNORE)


def _add_empty(identifier: Dataset, tag: int) -> None:
    if tag not in identifier:
        _set(identifier, tag, "")


def match_terms(identifier: Dataset) -> list[tuple[str, str]]:
    """The keys with a matching value, as ``(keyword, value)`` (for the audit trail)."""
    return [
        (element.keyword or f"{element.tag:08X}", str(element.value))
        for element in identifier
        if element.keyword not in _NOT_RETURNED and element.value not in (None, "")
    ]


def unsupported_matching(identifier: Dataset) -> list[str]:
    """Keywords given a matching value that the archive does not match on (they are
    returned, not matched); the view warns about them (PS3.18 8.3.4)."""
    supported = MATCHING_KEYS[str(identifier.QueryRetrieveLevel)]
    return [keyword for keyword, value in match_terms(identifier) if keyword not in supported]


def paging(params: Mapping[str, Sequence[str]]) -> Paging:
    """``limit`` and ``offset`` of a query string, validated; ``limit`` at most MAX_LIMIT."""
    limit, offset = _count(params, "limit"), _count(params, "offset")
    capped = limit is None or limit > MAX_LIMIT
    return Paging(MAX_LIMIT if capped else limit, offset or 0, capped)


def _count(params: Mapping[str, Sequence[str]], name: str) -> int | None:
    values = params.get(name) or []
    if not values:
        return None
    if len(values) > 1:
        raise QueryError(f"{name} is given more than once")
    text = values[0].strip()
    if not text.isascii() or not text.isdigit():
        raise QueryError(f"{name} must be a whole number of 0 or more, not {text!r}")
    if len(text) > 12:  # SQLite and PostgreSQL take 64-bit integers; no archive is this big
        raise QueryError(f"{name} is too large: {text}")
    return int(text)


def search(identifier: Dataset, base_url: str, page: Paging) -> tuple[list[dict], bool]:
    """The matches of ``identifier`` on ``page`` as DICOM JSON, each with its RetrieveURL,
    and whether our maximum cut the answer short (more matches follow).

    ``base_url`` is the absolute URL of the DICOMweb root, e.g.
    ``https://pacs.example/dicom-web``. Raises ``QueryError`` for values the matching
    cannot read (a malformed date).
    """
    level = str(identifier.QueryRetrieveLevel)
    extra = 1 if page.capped else 0  # one more row tells whether the cap cut the answer
    found = []
    for response in responses(identifier, page.offset, page.limit + extra):
        for keyword in _NOT_RETURNED:
            if keyword in response:
                del response[keyword]
        response.RetrieveURL = retrieve_url(base_url, level, response)
        found.append(dict(sorted(response.to_json_dict().items())))  # in tag order
    cut = len(found) > page.limit
    return found[: page.limit], cut


def retrieve_url(base_url: str, level: str, result: Dataset) -> str:
    """The WADO-RS URL of a study, series or instance result (PS3.18 6.7.1.2.2)."""
    url = f"{base_url.rstrip('/')}/studies/{result.StudyInstanceUID}"
    if level in (SERIES, IMAGE):
        url += f"/series/{result.SeriesInstanceUID}"
    if level == IMAGE:
        url += f"/instances/{result.SOPInstanceUID}"
    return url
