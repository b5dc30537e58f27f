"""One thing wrong with a data set: what readers find while indexing and ``data check`` while decoding.

Readers and the check both produce :class:`Problem` s, so it lives below both of them (the readers
must not import the check, which imports the readers' tables).
"""

from __future__ import annotations

from dataclasses import dataclass

#: "error": the image cannot be used; "warning": worth a look, the image is usable.
SEVERITIES: tuple[str, ...] = ("error", "warning")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a data set.

    Attributes:
        kind: machine-readable reason, e.g. "truncated_image" (see ``dermkit.data.check``).
        severity: "error" (the image cannot be used) or "warning" (worth a look).
        image_id: the affected image ("" for data-set-wide problems).
        path: the offending file (or folder).
        message: names the file, says what is wrong and what to do.
    """

    kind: str
    severity: str
    image_id: str
    path: str
    message: str

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"Problem.severity must be one of {SEVERITIES}, got {self.severity!r}")
