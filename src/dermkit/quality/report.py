"""What the quality gate returns: typed flags and one frozen, JSON-able report."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Severity = Literal["warning", "error"]
#: "error": a result computed from this image (or mask) should not be trusted as it is;
#: "warning": it may be used, with the caveat shown to the reader.
SEVERITIES: tuple[Severity, ...] = ("warning", "error")

#: Version of the :meth:`QualityReport.to_json` layout; bumped when a key changes meaning.
JSON_VERSION = 1


@dataclass(frozen=True)
class QualityFlag:
    """One problem found, under a stable code.

    Attributes:
        code: stable name (see :data:`dermkit.quality.CODES`), e.g. ``"blurry"``.
        severity: "warning" or "error".
        message: one readable sentence: what was measured, why it matters and what to do.
        value: the measured value that crossed the threshold.
        threshold: the threshold it crossed.
    """

    code: str
    severity: Severity
    message: str
    value: float
    threshold: float


@dataclass(frozen=True)
class QualityReport:
    """Result of :func:`dermkit.quality.check_quality`; the image itself is never changed.

    Attributes:
        flags: the problems found, in the order of :data:`dermkit.quality.CODES` (empty: none).
        measures: every value the checks read (name -> number; None where not measured, e.g. the
            mask measures without a mask), so a reader can see how close an image came.
        thresholds: the thresholds applied (name -> value).
    """

    flags: tuple[QualityFlag, ...]
    measures: dict[str, float | None]
    thresholds: dict[str, float]

    @property
    def codes(self) -> tuple[str, ...]:
        """The codes of the flags raised, in order."""
        return tuple(f.code for f in self.flags)

    @property
    def ok(self) -> bool:
        """True when no flag is an error (warnings allowed)."""
        return not any(f.severity == "error" for f in self.flags)

    def to_json(self) -> dict[str, Any]:
        """A dict of JSON types (``json.dumps(..., allow_nan=False)`` takes it)."""
        return {
            "version": JSON_VERSION,
            "ok": self.ok,
            "flags": [asdict(f) for f in self.flags],
            "measures": dict(self.measures),
            "thresholds": dict(self.thresholds),
        }
