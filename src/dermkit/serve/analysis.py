"""One upload to one answer: decode in memory, analyse with the loaded pipeline, draw the layers.

Nothing here re-implements a pipeline step: decoding is :func:`dermkit.imageio.read_image_bytes`
(the reader every command uses, with its pixel limit), metadata is checked by
:func:`dermkit.pipeline.make_metadata`'s parsers, the analysis is the analyzer's ``analyze``
(PyTorch or ONNX Runtime), and the report is :func:`dermkit.pipeline.report.render_report`.
The layers the page stacks over the image (outline, heat map) are transparent PNGs drawn from the
result's mask and heat map at no more than :data:`LAYER_SIDE` pixels a side.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

import cv2
import numpy as np

from dermkit.data.records import Metadata
from dermkit.errors import DataError
from dermkit.imageio import ImageError, read_image_bytes
from dermkit.pipeline import AnalysisResult, ImageTooSmall, decode_rle, make_metadata, parse_age, parse_sex, parse_site
from dermkit.pipeline.overlay import OUTLINE_RGB, draw_overlay, outline_thickness, result_heatmap
from dermkit.pipeline.report import render_report
from dermkit.serve.errors import ApiError, image_error

#: Longest side of the layers and composite overlay sent back (the page scales them onto the image).
LAYER_SIDE = 1024
#: Metadata fields of the form, with the parser that checks each.
METADATA_FIELDS = {"age": parse_age, "sex": parse_sex, "site": parse_site}
_ID_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Upload:
    """An uploaded image held in memory, and its form fields."""

    data: bytes
    image_id: str
    meta: Metadata | None


def image_id_of(filename: str | None, fallback: str) -> str:
    """A safe id from the file's name (its stem, letters, digits, ``.``, ``_``, ``-``; 64 at most)."""
    stem = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
    cleaned = _ID_CHARACTERS.sub("_", stem).strip("._-")[:64]
    return cleaned or fallback


def checked_metadata(image_id: str, fields: dict[str, str]) -> Metadata | None:
    """The form's age, sex and site, checked.

    Raises:
        ApiError: 400 ``invalid_age``, ``invalid_sex`` or ``invalid_site`` (with a did-you-mean).
    """
    for name, parse in METADATA_FIELDS.items():
        try:
            parse(fields.get(name))
        except DataError as exc:
            raise ApiError(400, f"invalid_{name}", str(exc)) from None
    return make_metadata(image_id, *(fields.get(name) for name in METADATA_FIELDS))


def decode_upload(upload: Upload, max_pixels: int | None) -> np.ndarray:
    """(H, W, 3) uint8 RGB of the upload (EXIF-oriented, any mode), never written anywhere.

    Raises:
        ApiError: 400 ``empty_file`` / ``not_an_image`` / ``truncated_image`` / ``unreadable_image``,
            413 ``too_many_pixels``.
    """
    try:
        return read_image_bytes(upload.data, upload.image_id, limit=max_pixels)
    except ImageError as exc:
        raise image_error(exc.kind, str(exc)) from None


def png_data_uri(image: np.ndarray) -> str:
    """An RGB or RGBA uint8 array as a ``data:image/png;base64,...`` URI."""
    channels = cv2.COLOR_RGBA2BGRA if image.shape[2] == 4 else cv2.COLOR_RGB2BGR
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(np.ascontiguousarray(image), channels))
    if not ok:
        raise ValueError(f"could not encode an image of shape {image.shape} as PNG")
    return "data:image/png;base64," + base64.b64encode(encoded.tobytes()).decode("ascii")


def layer_size(height: int, width: int, side: int = LAYER_SIDE) -> tuple[int, int]:
    """(height, width) with the longer side at most ``side``, the aspect kept."""
    scale = min(1.0, side / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def outline_layer(mask: np.ndarray) -> np.ndarray:
    """(h, w, 4) uint8: the lesion's outline in :data:`OUTLINE_RGB` on transparent pixels."""
    layer = np.zeros((*mask.shape, 4), np.uint8)
    contours, _ = cv2.findContours((mask > 0).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(layer, contours, -1, (*OUTLINE_RGB, 255), max(2, outline_thickness(mask.shape)))
    return layer


def heatmap_layer(heat: np.ndarray) -> np.ndarray:
    """(h, w, 4) uint8: the heat map's JET colours, opaque where the map is 1, clear where it is 0."""
    values = np.clip(heat, 0, 1)
    colours = cv2.applyColorMap((values * 255).astype(np.uint8), cv2.COLORMAP_JET)[..., ::-1]
    alpha = (values * 255).round().astype(np.uint8)[..., None]
    return np.concatenate([colours, alpha], axis=2)


def layers(image: np.ndarray, result: AnalysisResult) -> dict:
    """The overlay (image, heat map and outline in one), and the outline and heat-map layers alone."""
    h, w = layer_size(*image.shape[:2])
    small = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA) if (h, w) != image.shape[:2] else image
    mask = cv2.resize(decode_rle(result.lesion.mask), (w, h), interpolation=cv2.INTER_NEAREST)
    heat = result_heatmap(result, h, w)
    return {
        "width": w,
        "height": h,
        "overlay": png_data_uri(draw_overlay(small, mask, heat)),
        "outline": png_data_uri(outline_layer(mask)),
        "heatmap": None if heat is None else png_data_uri(heatmap_layer(heat)),
    }


@dataclass(frozen=True)
class Analysis:
    """What a worker hands back: the result, the layers (None when not asked for) and the report page."""

    result: AnalysisResult
    images: dict | None
    report_html: str


def analyze_upload(analyzer, upload: Upload, max_pixels: int | None, with_images: bool) -> Analysis:
    """Decode, analyse, draw: the whole job of one request (runs on a worker thread).

    Raises:
        ApiError: the image cannot be decoded, is above the pixel limit, or is too small (400 ``image_too_small``).
    """
    image = decode_upload(upload, max_pixels)
    try:
        result = analyzer.analyze(image, upload.meta, upload.image_id)
    except ImageTooSmall as exc:
        raise ApiError(400, "image_too_small", str(exc)) from None
    return Analysis(result, layers(image, result) if with_images else None, render_report(image, result))
