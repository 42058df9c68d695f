"""A patient's other studies (priors), in the archive and on the nodes, and their
background prefetch.

Priors are stricter than the importer's patient match: the same Patient row, or the
same Patient ID with exactly the same issuer (both empty, or equal). An ID without an
issuer beside one with an issuer may be another hospital's patient, and a prior shown
beside a study is read as the same person's. A study without a Patient ID has no priors
beyond its own Patient row: a name and a birth date cannot prove the same person. The
nodes are asked by Patient ID, and their answers kept only when the ID and the issuer
are exactly ours (a PACS matches wildcards in the key, and may ignore the issuer).

Of the most recent comparable priors (``PACSWEB_PRIOR_PREFETCH`` of them, local or
remote), the remote ones are fetched ahead, at background priority; the rest of the list
is retrieved when a person opens it (at viewing priority, as the viewer page asks
already). The nodes' answers are kept a minute per study (``REMOTE_CACHE_SECONDS``), so
a viewer that asks again and again refreshes only what the archive knows.
"""

import datetime
import logging
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, replace

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q

from viewer.archive.models import Series, Study
from viewer.archive.search import StudyQuery
from viewer.nodes.models import RemoteNode
from viewer.nodes.remote_query import RemoteQueryError, RemoteStudy, find_series, find_studies

from .jobs import request_retrieve
from .launch import MAX_NODE_QUERIES
from .models import RetrieveJob

logger = logging.getLogger(__name__)

LOCAL, REMOTE = "local", "remote"

# Series that hold no images of the body: a report or a key-image note in both studies
# does not make them comparable.
NON_IMAGE_MODALITIES = frozenset({"SR", "KO", "PR", "DOC", "REG", "SEG", "RWV"})

# Remote studies whose modalities are looked up by their series when the node's study
# answer leaves them out (newest first): enough to find the most recent comparable one.
MAX_SERIES_LOOKUPS = 10
# How long the nodes' answers for one study are reused: the viewer asks again every 20 s
# while a prior arrives, and every node need not be queried each time.
REMOTE_CACHE_SECONDS = 60


@dataclass(frozen=True)
class Prior:
    """One other study of the patient, in the archive or on a node."""

    study_uid: str
    study_date: datetime.date | None
    study_time: str
    modalities: str
    description: str
    accession_number: str
    num_instances: int | None
    where: str  # LOCAL or REMOTE
    node: RemoteNode | None  # the node that holds it (remote priors only)
    retrieving: str | None  # the state of its active retrieve job: queued, running
    comparable: bool  # same modality and, where both are known, body part


@dataclass(frozen=True)
class PriorList:
    """The priors of one study, newest first, and the nodes that could not be asked."""

    study_uid: str
    priors: tuple[Prior, ...]
    unreachable: tuple[str, ...]  # node names


def nodes_to_ask(study: Study, nodes: list[RemoteNode] | None = None) -> list[RemoteNode]:
    """The nodes the study's priors are looked for on (the enabled ones by default);
    none for a patient without an ID, who cannot be matched on a node."""
    if not study.patient.patient_id:
        return []
    if nodes is None:
        return list(RemoteNode.objects.filter(enabled=True))
    return [node for node in nodes if node.enabled]


def list_priors(
    study: Study,
    nodes: list[RemoteNode] | None = None,
    *,
    cached: bool = False,
    deadline: float | None = None,
) -> PriorList:
    """The patient's other studies, local and on ``nodes`` (default: every enabled
    node), newest first; a study both here and on a node is listed once, as local.

    A node that cannot be asked is named in ``unreachable``; nothing is raised for it.
    ``cached``: reuse the nodes' answers of the last ``REMOTE_CACHE_SECONDS`` for this
    study (and keep these). ``deadline`` (``time.monotonic()``): a node that has not
    answered by then counts as unreachable; the caller is not kept waiting for it.
    """
    current_modalities, current_parts = _modalities_and_parts([study.pk])[study.pk]
    local = list(_local_studies(study))
    shapes = _modalities_and_parts([s.pk for s in local])
    entries = [_local_prior(s, *shapes[s.pk], current_modalities, current_parts) for s in local]
    kept, series_modalities, unreachable = _remote_part(
        study, nodes_to_ask(study, nodes), {entry.study_uid for entry in entries}, cached, deadline
    )
    for found, node in kept:
        modalities = _split(found.modalities) or series_modalities.get(found.study_uid, set())
        entries.append(
            Prior(
                study_uid=found.study_uid,
                study_date=found.study_date,
                study_time="",
                modalities=found.modalities or "\\".join(sorted(modalities)),
                description=found.description,
                accession_number=found.accession_number,
                num_instances=found.num_instances,
                where=REMOTE,
                node=node,
                retrieving=None,
                # A node's study answer names no body part: the modality alone decides.
                comparable=_comparable(current_modalities, current_parts, modalities, set()),
            )
        )
    active = dict(
        RetrieveJob.objects.filter(
            study_uid__in=[entry.study_uid for entry in entries], state__in=RetrieveJob.ACTIVE
        ).values_list("study_uid", "state")
    )
    entries = [
        _with_state(entry, active[entry.study_uid]) if entry.study_uid in active else entry
        for entry in entries
    ]
    # Newest first; undated studies last; a stable sort keeps local before remote.
    entries.sort(
        key=lambda p: (p.study_date is not None, p.study_date or datetime.date.min, p.study_time),
        reverse=True,
    )
    return PriorList(study.study_uid, tuple(entries), tuple(unreachable))


def prefetch_priors(
    study: Study, user=None, *, priors: PriorList | None = None, deadline: float | None = None
) -> list[RetrieveJob]:
    """Start background retrieves of the remote ones among the most recent comparable
    priors (the newest ``PACSWEB_PRIOR_PREFETCH`` comparable ones, local or remote; 0
    turns it off); their jobs, new or already active.

    Counting the local ones too keeps it to the recent past: once the latest comparable
    prior is here, an older one is not fetched in its place, and so on back through the
    patient's whole history.

    ``priors``: the list already asked for (saves asking the nodes again). A job that
    exists keeps its priority if it is higher (``request_retrieve`` never lowers one).
    """
    count = settings.PACSWEB_PRIOR_PREFETCH
    if count <= 0:
        return []
    if priors is None:
        priors = list_priors(study, deadline=deadline)
    wanted = [p for p in priors.priors if p.comparable][:count]
    return [
        request_retrieve(prior.study_uid, prior.node, user, priority=RetrieveJob.BACKGROUND)[0]
        for prior in wanted
        if prior.where == REMOTE
    ]


def prefetch_after_retrieve(job: RetrieveJob, deadline: float | None = None) -> list[RetrieveJob]:
    """A study has arrived by ``job``: prefetch its priors (nodes not answered by
    ``deadline`` are left out).

    A prior that was itself prefetched does not prefetch its own: one level only, or the
    patient's whole history would follow one study in, a prior at a time.
    """
    priority = RetrieveJob.objects.filter(pk=job.pk).values_list("priority", flat=True).first()
    if priority is None or priority == RetrieveJob.BACKGROUND:
        return []
    study = Study.objects.select_related("patient").filter(study_uid=job.study_uid).first()
    if study is None:
        return []
    return prefetch_priors(study, user=job.requested_by, deadline=deadline)


def _local_studies(study: Study):
    patient = study.patient
    same = Q(patient=patient)
    if patient.patient_id:
        # The same ID and exactly the same issuer (both empty, or equal): an ID without
        # an issuer beside one with an issuer may be another hospital's patient.
        same |= Q(
            patient__patient_id=patient.patient_id,
            patient__issuer_of_patient_id=patient.issuer_of_patient_id,
        )
    return Study.objects.filter(same).exclude(pk=study.pk)


def _modalities_and_parts(study_pks: list[int]) -> dict[int, tuple[set[str], set[str]]]:
    """Per study: the modalities of its series and the body parts of its image series."""
    shapes: dict[int, tuple[set[str], set[str]]] = {pk: (set(), set()) for pk in study_pks}
    rows = Series.objects.filter(study_id__in=study_pks).values_list(
        "study_id", "modality", "body_part"
    )
    for study_pk, modality, body_part in rows:
        modalities, parts = shapes[study_pk]
        modality = modality.strip().upper()
        if modality:
            modalities.add(modality)
        if body_part.strip() and modality not in NON_IMAGE_MODALITIES:
            parts.add(body_part.strip().upper())
    return shapes


def _split(modalities: str) -> set[str]:
    return {m.strip().upper() for m in modalities.split("\\") if m.strip()}


def _comparable(
    current_modalities: set[str], current_parts: set[str], modalities: set[str], parts: set[str]
) -> bool:
    if not (current_modalities & modalities) - NON_IMAGE_MODALITIES:
        return False
    if current_parts and parts:
        return bool(current_parts & parts)
    return True


def _local_prior(
    study: Study,
    modalities: set[str],
    parts: set[str],
    current_modalities: set[str],
    current_parts: set[str],
) -> Prior:
    return Prior(
        study_uid=study.study_uid,
        study_date=study.study_date,
        study_time=study.study_time,
        # The series say it when the study row has not been counted yet.
        modalities=study.modalities or "\\".join(sorted(modalities)),
        description=study.description,
        accession_number=study.accession_number,
        num_instances=study.num_instances,
        where=LOCAL,
        node=None,
        retrieving=None,
        comparable=_comparable(current_modalities, current_parts, modalities, parts),
    )


def _with_state(prior: Prior, state: str) -> Prior:
    return replace(prior, retrieving=state)


def _remote_part(
    study: Study,
    nodes: list[RemoteNode],
    local_uids: set[str],
    cached: bool,
    deadline: float | None,
) -> tuple[list[tuple[RemoteStudy, RemoteNode]], dict[str, set[str]], list[str]]:
    """The remote priors to list (each once, none the archive holds), the modalities
    found by their series, and the nodes that could not be asked.

    The nodes' answers may come from the cache (``cached``); what the archive holds is
    always asked again, so a prior that has arrived is listed as local at once.
    """
    if not nodes:
        return [], {}, []
    by_pk = {node.pk: node for node in nodes}
    key = f"priors:remote:{study.study_uid}:{','.join(str(pk) for pk in sorted(by_pk))}"
    stored = cache.get(key) if cached else None
    if stored is None:
        remote, unreachable = _remote_studies(study, nodes, deadline)
        # A study the archive holds is never offered for retrieve: if it is not listed
        # as local, the archive files it under another patient than the node says.
        held = set(
            Study.objects.filter(study_uid__in=[s.study_uid for s, _ in remote]).values_list(
                "study_uid", flat=True
            )
        )
        seen = {study.study_uid} | held
        answers = []
        for found, node in remote:
            if found.study_uid not in seen:
                seen.add(found.study_uid)
                answers.append((found, node))
        series_modalities = _series_modalities(
            [pair for pair in answers if pair[0].study_uid not in local_uids], deadline
        )
        stored = ([(found, node.pk) for found, node in answers], series_modalities, unreachable)
        if cached:
            cache.set(key, stored, REMOTE_CACHE_SECONDS)
    pairs, series_modalities, unreachable = stored
    held = set(
        Study.objects.filter(study_uid__in=[found.study_uid for found, _ in pairs]).values_list(
            "study_uid", flat=True
        )
    )
    kept = [
        (found, by_pk[pk])
        for found, pk in pairs
        if pk in by_pk and found.study_uid not in local_uids and found.study_uid not in held
    ]
    return kept, series_modalities, list(unreachable)


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else max(deadline - time.monotonic(), 0.0)


def _remote_studies(
    study: Study, nodes: list[RemoteNode], deadline: float | None = None
) -> tuple[list[tuple[RemoteStudy, RemoteNode]], list[str]]:
    """The nodes' studies of the patient, in the nodes' order, and the nodes that failed
    (or had not answered by ``deadline``)."""
    if not nodes:
        return [], []
    patient_id = study.patient.patient_id
    issuer = study.patient.issuer_of_patient_id
    query = StudyQuery(patient_id=patient_id)
    pool = ThreadPoolExecutor(max_workers=min(len(nodes), MAX_NODE_QUERIES))
    futures = [pool.submit(_ask, node, query) for node in nodes]
    # Past the deadline a node still asking is left to its own timeouts, unwaited for.
    wait(futures, timeout=_remaining(deadline))
    pool.shutdown(wait=False, cancel_futures=True)
    found: list[tuple[RemoteStudy, RemoteNode]] = []
    unreachable: list[str] = []
    for node, future in zip(nodes, futures, strict=True):
        studies = future.result() if future.done() and not future.cancelled() else None
        if studies is None:
            unreachable.append(node.name)
            continue
        # PACS match wildcards (and some ignore the key): only our patient's own ID, and
        # our issuer exactly; an answer that names none (or names one when we have none)
        # cannot be told from another hospital's patient of the same ID.
        found.extend(
            (s, node)
            for s in studies
            if s.patient_id == patient_id and s.issuer_of_patient_id == issuer
        )
    return found, unreachable


def _series_modalities(
    remote: list[tuple[RemoteStudy, RemoteNode]], deadline: float | None = None
) -> dict[str, set[str]]:
    """The modalities of the newest remote studies whose node left ModalitiesInStudy
    out (dcmqrscp, some PACS), from their series: a few queries, not one per study of a
    long history; a study not asked or whose node fails stays without."""
    missing = sorted(
        (pair for pair in remote if not pair[0].modalities),
        key=lambda pair: pair[0].study_date or datetime.date.min,
        reverse=True,
    )[:MAX_SERIES_LOOKUPS]
    if not missing:
        return {}

    def modalities_of(pair: tuple[RemoteStudy, RemoteNode]) -> set[str]:
        found, node = pair
        try:
            return {s.modality.upper() for s in find_series(node, found.study_uid) if s.modality}
        except Exception as exc:  # the study stays listed, its modality unknown
            logger.info(
                "priors: series of a study on %s unknown (%s)", node.name, type(exc).__name__
            )
            return set()

    pool = ThreadPoolExecutor(max_workers=min(len(missing), MAX_NODE_QUERIES))
    futures = [pool.submit(modalities_of, pair) for pair in missing]
    wait(futures, timeout=_remaining(deadline))
    pool.shutdown(wait=False, cancel_futures=True)
    return {
        found.study_uid: future.result()
        for (found, _), future in zip(missing, futures, strict=True)
        if future.done() and not future.cancelled()
    }


def _ask(node: RemoteNode, query: StudyQuery) -> list[RemoteStudy] | None:
    """The node's answer, or None if it could not be asked (logged by node and kind,
    never with the patient's ID)."""
    try:
        return find_studies(node, query)
    except RemoteQueryError:
        logger.info("priors: node %s could not be queried", node.name)
    except Exception as exc:  # any failure of one node leaves the others' answers
        logger.warning("priors: querying node %s failed (%s)", node.name, type(exc).__name__)
    return None
