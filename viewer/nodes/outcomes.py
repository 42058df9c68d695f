"""Words for every association and DIMSE outcome, so an administrator can act on them."""

from dataclasses import dataclass, field

from pynetdicom.status import (
    GENERAL_STATUS,
    QR_FIND_SERVICE_CLASS_STATUS,
    QR_GET_SERVICE_CLASS_STATUS,
    QR_MOVE_SERVICE_CLASS_STATUS,
    VERIFICATION_SERVICE_CLASS_STATUS,
    code_to_category,
)

RESULTS = {1: "rejected permanently", 2: "rejected transiently"}
SOURCES = {
    1: "by the peer application (service user)",
    2: "by the peer's association control (ACSE)",
    3: "by the peer's presentation layer",
}
REASONS = {
    1: {
        1: "no reason given",
        2: "application context name not supported",
        3: "calling AE title not recognised",
        7: "called AE title not recognised",
    },
    2: {1: "no reason given", 2: "protocol version not supported"},
    3: {1: "temporary congestion", 2: "local limit exceeded"},
}
STATUS_TABLES = {
    "C-ECHO": VERIFICATION_SERVICE_CLASS_STATUS,
    "C-FIND": QR_FIND_SERVICE_CLASS_STATUS,
    "C-MOVE": QR_MOVE_SERVICE_CLASS_STATUS,
    "C-GET": QR_GET_SERVICE_CLASS_STATUS,
}


@dataclass(frozen=True)
class Step:
    """One check of a verification: what was tried, whether it passed, and why.

    ``ok`` is None when the peer's answer cannot tell (it answers so whatever the truth).
    """

    name: str
    ok: bool | None
    message: str
    elapsed_ms: float | None = None

    def __str__(self) -> str:
        timing = f" ({self.elapsed_ms:.0f} ms)" if self.elapsed_ms is not None else ""
        verdict = {True: "OK", False: "FAILED", None: "CANNOT TELL"}[self.ok]
        return f"{self.name}: {verdict} — {self.message}{timing}"


@dataclass
class Verification:
    """Every step of verifying one node, in order."""

    steps: list[Step] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no step failed (a step that cannot tell is no failure)."""
        return bool(self.steps) and all(step.ok is not False for step in self.steps)

    @property
    def untold(self) -> list["Step"]:
        """The steps whose answer could not tell."""
        return [step for step in self.steps if step.ok is None]

    def summary(self) -> str:
        """One line per step."""
        return "\n".join(str(step) for step in self.steps)


def rejection_words(result: int | None, source: int | None, reason: int | None) -> str:
    """A-ASSOCIATE-RJ parameters in words, e.g. 'called AE title not recognised'."""
    result_text = RESULTS.get(result or 0, f"rejected (result {result})")
    source_text = SOURCES.get(source or 0, f"(source {source})")
    reason_text = REASONS.get(source or 0, {}).get(reason or 0, f"reason code {reason}")
    return f"association {result_text} {source_text}: {reason_text}"


def status_words(service: str, code: int) -> str:
    """A DIMSE status in words, e.g. '0xA801 Failure: Move destination unknown'."""
    table = STATUS_TABLES.get(service, {})
    category, description = (
        table.get(code)
        or GENERAL_STATUS.get(code)
        or (
            code_to_category(code),
            "",
        )
    )
    return f"status 0x{code:04X} {category}" + (f": {description}" if description else "")
