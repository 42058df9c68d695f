"""Launch URLs from a RIS or HIS: which study a worklist names, here or on the nodes.

A worklist names a study by its Study Instance UID, its accession number, or the
patient's ID (with the study date, and the issuer of the ID, where it has them). The
archive is asked first; the enabled remote nodes after it, lowest ``launch_order``
first. No HTTP here: the view turns the outcome into a redirect, a chooser or a page.
"""

import dataclasses
import datetime
import logging
import re
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connections
from django.utils.translation import gettext as _

from viewer.archive.models import Study
from viewer.archive.search import StudyQuery
from viewer.archive.storage import InvalidUID, check_uid
from viewer.nodes.models import RemoteNode
from viewer.nodes.remote_query import RemoteQueryError, RemoteStudy, find_studies, find_study

# Accession Number is SH (16 characters), Patient ID and its issuer LO (64). A C-FIND
# would read "*", "?" as wildcards and "\" as a value separator: a launch names one
# value exactly, so those are refused rather than sent on.
_LIMITS = {"accession": 16, "patient_id": 64, "issuer": 64}
_FORBIDDEN = re.compile(r"[*?\\\x00-\x1f\x7f]")
_DATE = re.compile(r"[0-9]{8}")
# The nodes are asked side by side, this many at once at most (priors too): one slow or
# unreachable node must not add its timeout to every other's.
MAX_NODE_QUERIES = 8

logger = logging.getLogger(__name__)


class LaunchInputError(ValueError):
    """The launch URL's parameters are missing or malformed; the message says which."""


@dataclass(frozen=True)
class LaunchQuery:
    """What the launch URL asks for; every field given must match."""

    study_uid: str = ""
    accession: str = ""
    patient_id: str = ""
    issuer: str = ""
    study_date: datetime.date | None = None

    @property
    def names_one_study(self) -> bool:
        """A UID or an accession number names one study: the first place holding it is
        enough. A patient's studies may be spread over the archive and every node."""
        return bool(self.study_uid or self.accession)

    @property
    def kind(self) -> str:
        """How the study is named, for the audit trail (never the values themselves)."""
        if self.study_uid:
            return "study UID"
        if self.accession:
            return "accession"
        return "patient ID and date" if self.study_date else "patient ID"


@dataclass(frozen=True)
class LaunchMatch:
    """One study the launch could open; ``node`` is None when it is in the archive."""

    study_uid: str
    node: RemoteNode | None
    patient_name: str
    patient_id: str
    study_date: datetime.date | None
    modalities: str
    description: str
    accession: str
    # The launch named an issuer and the node did not say which: maybe another patient.
    issuer_unknown: bool = False
    # The archive holds this study UID under other details (another patient, most
    # likely): opening it would show the archive's study, so it is never opened from here.
    in_archive_elsewhere: bool = False

    @property
    def opens_directly(self) -> bool:
        """Certain enough to open without the person choosing."""
        return not (self.issuer_unknown or self.in_archive_elsewhere)


@dataclass
class LaunchOutcome:
    """The matches, newest first, and which nodes were asked and which could not be."""

    matches: list[LaunchMatch] = field(default_factory=list)
    asked: list[RemoteNode] = field(default_factory=list)
    failed: list[tuple[RemoteNode, str]] = field(default_factory=list)
    # Matches per node asked (node pk -> count), for the audit trail.
    found_on: dict[int, int] = field(default_factory=dict)


def _text(params, name: str) -> str:
    value = (params.get(name) or "").strip()
    if name in _LIMITS:
        if len(value) > _LIMITS[name]:
            raise LaunchInputError(
                _("%(name)s is longer than %(limit)d characters.")
                % {"name": name, "limit": _LIMITS[name]}
            )
        if _FORBIDDEN.search(value):
            raise LaunchInputError(
                _("%(name)s may not contain wildcards (* ?), backslashes or control characters.")
                % {"name": name}
            )
    return value


def parse_launch_query(params) -> LaunchQuery:
    """The launch query from URL parameters (any mapping of str), or ``LaunchInputError``."""
    study_uid = (params.get("study_uid") or "").strip()
    if study_uid:
        try:
            check_uid(study_uid, "study_uid")
        except InvalidUID as exc:
            raise LaunchInputError(
                _("study_uid is not a valid UID (digits and dots, at most 64).")
            ) from exc
    accession, patient_id = _text(params, "accession"), _text(params, "patient_id")
    issuer = _text(params, "issuer")
    date_text = (params.get("study_date") or "").strip()
    study_date = None
    if date_text:
        try:
            if not _DATE.fullmatch(date_text):
                raise ValueError
            study_date = datetime.datetime.strptime(date_text, "%Y%m%d").date()
        except ValueError:
            raise LaunchInputError(_("study_date must be a date written YYYYMMDD.")) from None
    if not (study_uid or accession or patient_id):
        raise LaunchInputError(
            _("The link names no study: give study_uid, accession or patient_id.")
        )
    if issuer and not patient_id:
        raise LaunchInputError(_("issuer qualifies a patient ID: give patient_id too."))
    return LaunchQuery(study_uid, accession, patient_id, issuer, study_date)


def launch_nodes() -> list[RemoteNode]:
    """The enabled nodes in the order a launch asks them."""
    return list(RemoteNode.objects.filter(enabled=True).order_by("launch_order", "name", "pk"))


def _local_matches(query: LaunchQuery) -> list[LaunchMatch]:
    # Exact values, not the study list's case-insensitive or wildcard matching: a
    # launch must open the study the worklist means and no other.
    studies = Study.objects.select_related("patient")
    if query.study_uid:
        studies = studies.filter(study_uid=query.study_uid)
    if query.accession:
        studies = studies.filter(accession_number=query.accession)
    if query.patient_id:
        studies = studies.filter(patient__patient_id=query.patient_id)
    if query.issuer:
        studies = studies.filter(patient__issuer_of_patient_id=query.issuer)
    if query.study_date:
        studies = studies.filter(study_date=query.study_date)
    return [
        LaunchMatch(
            study_uid=s.study_uid,
            node=None,
            patient_name=s.patient.patient_name,
            patient_id=s.patient.patient_id,
            study_date=s.study_date,
            modalities=s.modalities,
            description=s.description,
            accession=s.accession_number,
        )
        for s in studies[:500]
    ]


def _remote_answers(node: RemoteNode, query: LaunchQuery) -> list[RemoteStudy]:
    if query.study_uid:
        found = find_study(node, query.study_uid)
        return [found] if found is not None else []
    # StudyQuery's fields become the C-FIND keys (or QIDO-RS parameters) as given:
    # exact values, since _text refused wildcards; one day is StudyDate=YYYYMMDD.
    return find_studies(
        node,
        StudyQuery(
            patient_id=query.patient_id,
            accession_number=query.accession,
            date_from=query.study_date,
            date_to=query.study_date,
        ),
    )


def _answer_matches(study: RemoteStudy, query: LaunchQuery) -> bool:
    """Does a node's answer match every key? A peer may ignore keys it does not support
    and answer with other studies; those must never be opened. An answer naming another
    issuer is another patient's; one naming none is kept (and marked, see
    ``_remote_match``)."""
    issuer = study.issuer_of_patient_id.strip()
    return (
        (not query.study_uid or study.study_uid == query.study_uid)
        and (not query.accession or study.accession_number.strip() == query.accession)
        and (not query.patient_id or study.patient_id.strip() == query.patient_id)
        and (not query.issuer or not issuer or issuer == query.issuer)
        and (not query.study_date or study.study_date == query.study_date)
    )


def _remote_match(study: RemoteStudy, node: RemoteNode, query: LaunchQuery) -> LaunchMatch:
    return LaunchMatch(
        study_uid=study.study_uid,
        node=node,
        patient_name=study.patient_name,
        patient_id=study.patient_id,
        study_date=study.study_date,
        modalities=study.modalities,
        description=study.description,
        accession=study.accession_number,
        issuer_unknown=bool(query.issuer) and not study.issuer_of_patient_id.strip(),
    )


def _ask(node: RemoteNode, query: LaunchQuery) -> list[RemoteStudy]:
    """One node's answers, in a worker thread; its database connections (if the node's
    code opened any) are closed with the thread's work, not left to leak."""
    try:
        return _remote_answers(node, query)
    finally:
        connections.close_all()


def _failure_words(node: RemoteNode, exc: BaseException) -> str:
    """Why a node's answer is missing, in words for the page and the audit trail; a
    malformed answer is logged by its type only (its message may quote patient data)."""
    if isinstance(exc, RemoteQueryError):
        return str(exc)
    logger.warning("launch: querying node %s failed (%s)", node.name, type(exc).__name__)
    return _("its answer could not be read (%(kind)s)") % {"kind": type(exc).__name__}


def _newest_first(matches: list[LaunchMatch]) -> list[LaunchMatch]:
    dated = sorted((m for m in matches if m.study_date), key=lambda m: m.study_date, reverse=True)
    return dated + [m for m in matches if not m.study_date]


def find_launch(
    query: LaunchQuery,
    nodes: list[RemoteNode] | None = None,
    deadline_seconds: float | None = None,
) -> LaunchOutcome:
    """Find what ``query`` names: the archive first, then ``nodes`` (default: the enabled
    ones in launch order), asked side by side within ``deadline_seconds`` in all
    (default ``PACSWEB_LAUNCH_DEADLINE_SECONDS``).

    A study UID or accession number is taken from the first place in order that holds
    it, however fast a later node answered; a patient ID takes every node's answers,
    since that patient's studies may be anywhere. A study held in two places is one
    match: the archive's, else the first node's in order. A node that fails, answers
    nonsense or misses the deadline is skipped and listed in ``failed``.
    """
    outcome = LaunchOutcome(matches=_local_matches(query))
    if outcome.matches and query.names_one_study:
        outcome.matches = _newest_first(outcome.matches)
        return outcome
    nodes = launch_nodes() if nodes is None else nodes
    if deadline_seconds is None:
        deadline_seconds = settings.PACSWEB_LAUNCH_DEADLINE_SECONDS
    seen = {m.study_uid for m in outcome.matches}
    remote: list[LaunchMatch] = []
    if nodes:
        ends_at = time.monotonic() + deadline_seconds
        pool = ThreadPoolExecutor(max_workers=min(len(nodes), MAX_NODE_QUERIES))
        try:
            asking: list[Future] = [pool.submit(_ask, node, query) for node in nodes]
            # Taken in launch order: a later node's early answer waits for the earlier ones.
            for index, (node, future) in enumerate(zip(nodes, asking, strict=True)):
                outcome.asked.append(node)
                try:
                    answers = future.result(timeout=max(0.0, ends_at - time.monotonic()))
                except FutureTimeout:
                    outcome.failed.append(
                        (
                            node,
                            _("did not answer within %(seconds)d s")
                            % {"seconds": deadline_seconds},
                        )
                    )
                    continue
                except Exception as exc:  # one node's failure leaves the others' answers
                    outcome.failed.append((node, _failure_words(node, exc)))
                    continue
                found = [a for a in answers if _answer_matches(a, query)]
                outcome.found_on[node.pk] = len(found)
                for answer in found:
                    if answer.study_uid not in seen:
                        seen.add(answer.study_uid)
                        remote.append(_remote_match(answer, node, query))
                if found and query.names_one_study:
                    # The later nodes' queries already sent were still sent: they are in
                    # the trail too (their answers unread); those not yet begun are not.
                    outcome.asked += [
                        later
                        for later, sent in zip(nodes[index + 1 :], asking[index + 1 :], strict=True)
                        if not sent.cancel()
                    ]
                    break
        finally:
            # Never wait for a node past the deadline: its thread ends with its own
            # timeouts, its answer unread; nodes not yet started are not asked at all.
            pool.shutdown(wait=False, cancel_futures=True)
    outcome.matches += _not_held_elsewhere(remote)
    outcome.matches = _newest_first(outcome.matches)
    return outcome


def _not_held_elsewhere(remote: list[LaunchMatch]) -> list[LaunchMatch]:
    """The remote matches, those whose study UID the archive holds marked: the local
    query missed them, so the archive files them under other details (another patient,
    most likely), and retrieving one would open the archive's study, not the node's."""
    held = set(
        Study.objects.filter(study_uid__in=[m.study_uid for m in remote]).values_list(
            "study_uid", flat=True
        )
    )
    return [
        dataclasses.replace(m, in_archive_elsewhere=True) if m.study_uid in held else m
        for m in remote
    ]


def find_launch_matches(
    query: LaunchQuery, nodes: list[RemoteNode] | None = None
) -> list[LaunchMatch]:
    """The studies ``query`` names, newest first (``find_launch`` without the node report)."""
    return find_launch(query, nodes).matches
