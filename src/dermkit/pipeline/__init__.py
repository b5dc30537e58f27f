"""One image to a diagnosis: segment, classify with the run's focus, measure, check quality; one typed result.

The CLI (``dermkit predict``), the demo, the web app and the benchmarks all call :class:`Analyzer`;
none of them re-implements a step. Its :class:`AnalysisResult` has a published JSON Schema
(``dermkit schema``; ``dermkit/schemas/analysis-v1.json``).
"""

from dermkit.pipeline.analyze import MIN_ANALYSABLE_SIDE_PX, Analyzer, ImageTooSmall
from dermkit.pipeline.inputs import ImageRequest, make_metadata, parse_age, parse_sex, parse_site, read_image_csv
from dermkit.pipeline.overlay import draw_overlay, result_overlay
from dermkit.pipeline.result import AnalysisResult, decode_rle, encode_rle, published_schema, schema_text

__all__ = [
    "MIN_ANALYSABLE_SIDE_PX",
    "AnalysisResult",
    "Analyzer",
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
    "ImageRequest",
    "result_overlay",
    "schema_text",
]
