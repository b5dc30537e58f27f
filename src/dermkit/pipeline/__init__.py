"""One image to a diagnosis: segment, classify with the run's focus, explain, measure, check quality;
one typed result.

The CLI (``dermkit predict``), the demo, the web app and the benchmarks all call :class:`Analyzer`
(PyTorch) or :class:`dermkit.package.PackageAnalyzer` (ONNX Runtime, no torch); none of them
re-implements a step. Its :class:`AnalysisResult` has a published JSON Schema (``dermkit schema``;
``dermkit/schemas/analysis-v<N>.json``).

Everything here but :class:`Analyzer` imports without torch; ``Analyzer`` is imported on first use.
"""

from typing import TYPE_CHECKING, Any

from dermkit.pipeline.assemble import MIN_ANALYSABLE_SIDE_PX, Classification, ImageTooSmall
from dermkit.pipeline.inputs import ImageRequest, make_metadata, parse_age, parse_sex, parse_site, read_image_csv
from dermkit.pipeline.overlay import draw_overlay, result_overlay
from dermkit.pipeline.result import AnalysisResult, decode_rle, encode_rle, published_schema, schema_text

if TYPE_CHECKING:
    from dermkit.pipeline.analyze import Analyzer

__all__ = [
    "MIN_ANALYSABLE_SIDE_PX",
    "AnalysisResult",
    "Analyzer",
    "Classification",
    "ImageRequest",
    "ImageTooSmall",
    "decode_rle",
    "draw_overlay",
    "encode_rle",
    "make_metadata",
    "parse_age",
    "parse_sex",
    "parse_site",
    "published_schema",
    "read_image_csv",
    "result_overlay",
    "schema_text",
]


def __getattr__(name: str) -> Any:
    """``Analyzer`` needs torch: import it only when asked for (PEP 562)."""
    if name == "Analyzer":
        from dermkit.pipeline.analyze import Analyzer

        return Analyzer
    raise AttributeError(f"module 'dermkit.pipeline' has no attribute {name!r}")
