"""Small helpers shared by CLI commands: parsing sizes, printing tables."""

from __future__ import annotations

import pandas as pd
from rich.table import Table

from dermkit.errors import ConfigError


def parse_size(text: str | None) -> tuple[int, int] | None:
    """"150x200" -> (150, 200) as (height, width); None stays None."""
    if text is None:
        return None
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ConfigError(f"size {text!r} is not HEIGHTxWIDTH, e.g. 150x200") from None
    if h < 8 or w < 8:
        raise ConfigError(f"size {text!r} is too small; both sides must be >= 8 pixels")
    return h, w


def frame_table(frame: pd.DataFrame, title: str | None = None, index_name: str = "") -> Table:
    """A rich Table of a small DataFrame (index as first column)."""
    table = Table(title=title, show_lines=False)
    table.add_column(index_name)
    for col in frame.columns:
        table.add_column(str(col), justify="right")
    for idx, row in frame.iterrows():
        table.add_row(str(idx), *(f"{v:.4g}" if isinstance(v, float) else str(v) for v in row))
    return table
