"""dermkit: dermoscopic skin-lesion segmentation and classification, honestly evaluated."""

from __future__ import annotations

__version__ = "0.1.0"
