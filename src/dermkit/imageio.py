"""The one image reader (and the image/mask writers) every part of dermkit uses.

:func:`read_image` and :func:`read_mask` decode a file the same way wherever they are called
(data check, datasets, evaluation, segment, preprocess, demo):

- EXIF orientation is applied (``ImageOps.exif_transpose``), so a JPEG a camera stored sideways
  with an orientation tag comes out upright, the way every viewer shows it, and its mask fits.
- 16-bit and 32-bit grey images (PIL modes ``I;16``, ``I;16B``, ``I;16L``, ``I``, ``F``) are scaled
  by their bit depth to uint8; ``convert("RGB")`` would clip them and turn them all white.
- Palette, grey, 1-bit, CMYK and YCbCr images are converted to RGB; images with an alpha channel
  (``RGBA``, ``LA``, ``PA``, palette with transparency) are composited on black: opaque pixels keep
  their colour, transparent ones become black like the dermatoscope's frame, never a colour that
  was hidden under the transparency.
- Images above :func:`max_pixels` (default :data:`MAX_PIXELS`, env ``DERMKIT_MAX_PIXELS``) are
  refused from their header, before anything is decoded.

Every failure raises :class:`ImageError` (a :class:`~dermkit.errors.DataError`) whose ``kind``
says what is wrong (``missing_file``, ``empty_file``, ``not_an_image``, ``truncated_image``,
``unreadable_image``, ``too_large``, ``mask_size_mismatch``) and whose message names the file,
the reason and what to do, so per-file commands can report the file and go on with the rest.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from dermkit.errors import ConfigError, DataError

#: The ISIC scorer binarises ground-truth and predicted masks with ``value > 128``.
MASK_THRESHOLD = 128

IMAGE_SUFFIXES: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")

#: Largest image (width x height) decoded: 100 megapixels, ~300 MB as RGB uint8. Dermoscopy images
#: are at most ~40 MP (6,000 x 6,000); anything larger is a mistake or a decompression bomb.
#: Override with the environment variable ``DERMKIT_MAX_PIXELS``.
MAX_PIXELS = 100_000_000
MAX_PIXELS_ENV = "DERMKIT_MAX_PIXELS"

#: Bumped whenever the pixels a file decodes to change (2: EXIF orientation, 16-bit scaling, alpha
#: on black, {0, 1} masks). Caches of decoded or preprocessed pixels should include it in their key.
DECODE_VERSION = 2

#: Grey modes whose values span 16 bits (PIL decodes 16-bit PNG/TIFF grey as one of these).
_SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N")
#: Modes with an alpha channel, composited on black.
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")

#: Image.open parses headers under a lock: PIL's decompression-bomb limit is a module global that
#: :func:`_open_header` switches off and back, so threads (data check decodes in a pool) must not
#: interleave. Decoding itself (``load``) runs outside the lock, in parallel.
_OPEN_LOCK = threading.Lock()


class ImageError(DataError):
    """An image or mask file that cannot be decoded; ``kind`` names the reason."""

    def __init__(self, kind: str, path: str | Path, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.kind = kind
        self.path = str(path)


def max_pixels() -> int:
    """The pixel limit in force: ``DERMKIT_MAX_PIXELS`` when set, else :data:`MAX_PIXELS`."""
    text = os.environ.get(MAX_PIXELS_ENV, "").strip()
    if not text:
        return MAX_PIXELS
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        value = 0
    if value <= 0:
        raise ConfigError(
            f"{MAX_PIXELS_ENV}={text!r} is not a positive whole number of pixels; "
            f"unset it (default {MAX_PIXELS:,}) or set e.g. {MAX_PIXELS_ENV}=200000000"
        )
    return value


# ------------------------------------------------------------------------------------ opening


def _check_file(path: Path) -> None:
    if not path.exists():
        raise ImageError("missing_file", path, "file not found; check the path or re-download the data set")
    if path.stat().st_size == 0:
        raise ImageError("empty_file", path, "file is empty (0 bytes); re-copy or re-download it, or exclude it")


def _too_large(path: Path, size: tuple[int, int], limit: int) -> ImageError:
    return ImageError(
        "too_large",
        path,
        f"image is {size[0]}x{size[1]} (WxH) = {size[0] * size[1]:,} pixels, above the limit of {limit:,} "
        f"(possibly a decompression bomb); downscale the file, exclude it, or raise the limit with "
        f"{MAX_PIXELS_ENV}=<pixels> if the image is genuine",
    )


def _decode_error(path: Path, exc: Exception) -> ImageError:
    """``truncated_image`` or ``unreadable_image`` for whatever PIL raised while decoding."""
    text = str(exc).lower()
    if "truncated" in text or "broken data stream" in text:
        return ImageError("truncated_image", path, f"image data is truncated ({exc}); re-copy the file or exclude it")
    reason = str(exc) if isinstance(exc, (OSError, ValueError, SyntaxError)) else f"{type(exc).__name__}: {exc}"
    return ImageError("unreadable_image", path, f"cannot decode image ({reason}); replace it or exclude it")


def _open_header(path: Path, data: bytes | None = None, limit: int | None = None) -> Image.Image:
    """Parse ``path``'s header (no pixel decoded yet) and refuse an image above :func:`max_pixels`.

    ``data``: the file's bytes held in memory (``path`` then only names it in messages);
    ``limit``: a pixel limit other than :func:`max_pixels` (a server's own setting).

    PIL's own decompression-bomb check (warn above ``Image.MAX_IMAGE_PIXELS``, raise above twice
    that) is switched off while the header is parsed, so the size check here is the one that
    decides and can name the size; ``Image.MAX_IMAGE_PIXELS`` is then left at the same limit, so
    PIL never refuses what dermkit accepts nor accepts what it refuses. Both PIL exceptions are
    still caught and turned into ``too_large``, so a bomb never escapes as a traceback.
    """
    if data is None:
        _check_file(path)
    elif not data:
        raise ImageError("empty_file", path, "file is empty (0 bytes); send the image file itself")
    limit = limit or max_pixels()
    try:
        with _OPEN_LOCK:
            Image.MAX_IMAGE_PIXELS = None
            try:
                img = Image.open(path if data is None else io.BytesIO(data))
            finally:
                Image.MAX_IMAGE_PIXELS = limit
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(
            "too_large",
            path,
            f"image is above the pixel limit ({exc}); downscale or exclude it, "
            f"or raise the limit with {MAX_PIXELS_ENV}=<pixels> if it is genuine",
        ) from None
    except UnidentifiedImageError:
        raise ImageError(
            "not_an_image",
            path,
            "not a readable image (wrong format or not an image at all); replace the file or exclude it",
        ) from None
    except Exception as exc:  # noqa: BLE001 - malformed headers raise OSError, ValueError, struct.error, ...
        raise _decode_error(path, exc) from None
    width, height = img.size
    if width * height > limit:
        img.close()
        raise _too_large(path, (width, height), limit)
    return img


def _decode(
    path: str | Path,
    convert: Callable[[Image.Image], np.ndarray],
    what: str,
    data: bytes | None = None,
    limit: int | None = None,
) -> np.ndarray:
    """Open ``path`` (or ``data``, named ``path``), decode it fully (PIL decodes lazily: truncation only
    shows on load), orient it and ``convert`` it to an array; the file is closed afterwards."""
    path = Path(path)
    with _open_header(path, data, limit) as img:
        try:
            img.load()  # a few formats (GIF frames, ICO) re-check sizes here, against the same limit
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_large(path, img.size, limit or max_pixels()) from None
        except Exception as exc:  # noqa: BLE001 - a bad file is that file's problem, never the batch's
            raise _decode_error(path, exc) from None
        oriented = _orient(img)
        try:
            return convert(oriented)
        except (ValueError, OSError) as exc:  # a mode PIL cannot convert (e.g. LAB without a profile)
            raise ImageError(
                "unreadable_image",
                path,
                f"cannot convert its {oriented.mode} pixels to {what} "
                f"({exc}); re-save it as an 8-bit {what} image or exclude it",
            ) from None


def _orient(img: Image.Image) -> Image.Image:
    """Apply the EXIF orientation tag (274); a malformed EXIF block leaves the pixels as stored."""
    try:
        return ImageOps.exif_transpose(img)
    except Exception:  # noqa: BLE001 - PIL raises assorted errors on broken EXIF; the pixels are fine
        return img


# ------------------------------------------------------------------------------------ modes


def _depth_max(mode: str, values: np.ndarray) -> float:
    """The value that means "white" for a high-bit-depth grey image of ``mode``.

    16-bit modes use 65535. ``I`` (32-bit integer) uses 65535 when its values fit in 16 bits (PIL
    gives 16-bit grey files this mode too), else 2**32 - 1. ``F`` (float) has no depth, so the
    smallest of 1, 255, 65535 that holds its maximum is taken (0-1 floats are the common case).
    """
    if mode in _SIXTEEN_BIT_MODES:
        return 65535.0
    top = float(values.max()) if values.size else 0.0
    if mode == "I":
        return 65535.0 if top <= 65535 else float(2**32 - 1)
    return next((m for m in (1.0, 255.0, 65535.0) if top <= m), top)


def _grey_levels(img: Image.Image) -> np.ndarray:
    """(H, W) uint8 grey levels from a high-bit-depth grey image, scaled by its bit depth."""
    values = np.asarray(img).astype(np.float64)
    scaled = values * (255.0 / _depth_max(img.mode, values))
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def _on_black(img: Image.Image) -> np.ndarray:
    """(H, W, 3) uint8: an image with alpha composited on black (colour x alpha / 255)."""
    rgba = np.asarray(img.convert("RGBA"), dtype=np.uint16)
    rgb, alpha = rgba[..., :3], rgba[..., 3:]
    return ((rgb * alpha + 127) // 255).astype(np.uint8)


def to_rgb(img: Image.Image) -> np.ndarray:
    """(H, W, 3) uint8 RGB from a decoded PIL image of any mode (see the module docstring)."""
    mode = img.mode
    if mode in _SIXTEEN_BIT_MODES or mode in ("I", "F"):
        return np.repeat(_grey_levels(img)[..., None], 3, axis=2)
    if mode in _ALPHA_MODES or (mode in ("P", "L", "RGB") and "transparency" in img.info):
        return _on_black(img)
    return np.asarray(img.convert("RGB"), dtype=np.uint8)


def to_grey(img: Image.Image) -> np.ndarray:
    """(H, W) uint8 grey levels of a mask: 1-bit, palette and RGB converted with "L" (alpha ignored).

    High-bit-depth masks keep their values when they fit in 0-255 (a 16-bit file holding 0/1 or
    0/255 is common) and are scaled by their bit depth otherwise (0/65535 -> 0/255).
    """
    if img.mode in _SIXTEEN_BIT_MODES or img.mode in ("I", "F"):
        values = np.asarray(img)
        if values.size and 0 <= values.min() and values.max() <= 255:
            return np.rint(values).astype(np.uint8)
        return _grey_levels(img)
    return np.asarray(img.convert("L"), dtype=np.uint8)


# ------------------------------------------------------------------------------------ reading


def read_image(path: str | Path) -> np.ndarray:
    """Read an image as (H, W, 3) uint8 RGB, upright, whatever its mode (see the module docstring).

    Raises:
        ImageError: the file is missing, empty, not an image, truncated, undecodable or too large.
    """
    return _decode(path, to_rgb, "RGB")


def read_image_bytes(data: bytes, name: str = "upload", limit: int | None = None) -> np.ndarray:
    """:func:`read_image` of a file held in memory (a web upload, never written to disk); ``name``
    labels error messages and ``limit`` replaces :func:`max_pixels` when given.

    Raises:
        ImageError: as :func:`read_image` (``empty_file`` for zero bytes).
    """
    return _decode(name, to_rgb, "RGB", data=data, limit=limit)


def read_mask_raw(path: str | Path) -> np.ndarray:
    """Read a mask as (H, W) uint8 grey levels, upright (see :func:`to_grey`)."""
    return _decode(path, to_grey, "grey")


def is_zero_one(grey: np.ndarray) -> bool:
    """True when a grey-level mask holds only 0 and 1 (its maximum is 1): a {0, 1} mask."""
    return grey.size > 0 and int(grey.max()) == 1


def binarise_mask(grey: np.ndarray) -> np.ndarray:
    """(H, W) grey levels -> (H, W) uint8 {0, 1}.

    The ISIC rule ``value > 128`` applies, except to a {0, 1} mask (maximum 1), which is already
    binary: thresholding it would make every such mask empty and train to Dice 0.
    """
    if is_zero_one(grey):
        return grey.astype(np.uint8)
    return (grey > MASK_THRESHOLD).astype(np.uint8)


def read_mask(path: str | Path, expected_hw: tuple[int, int] | None = None) -> np.ndarray:
    """Read a lesion mask as (H, W) uint8 in {0, 1}.

    Args:
        path: mask file (PNG/BMP; palette, 1-bit, 16-bit and {0, 1} files are fine).
        expected_hw: the (height, width) of its image; a different size raises
            ``mask_size_mismatch`` instead of silently resizing a mask that may belong elsewhere.
    """
    mask = binarise_mask(read_mask_raw(path))
    if expected_hw is not None and mask.shape != tuple(expected_hw):
        raise ImageError(
            "mask_size_mismatch",
            path,
            f"mask is {mask.shape[1]}x{mask.shape[0]} (WxH) but its image is "
            f"{expected_hw[1]}x{expected_hw[0]}; fix or regenerate the mask, or exclude the image",
        )
    return mask


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) as :func:`read_image` returns it (EXIF orientation applied), from the header only.

    Raises:
        ImageError: like :func:`read_image` for a file that cannot be opened or is too large.
    """
    path = Path(path)
    with _open_header(path) as img:
        width, height = img.size
        try:
            orientation = img.getexif().get(274, 1)
        except Exception:  # noqa: BLE001 - broken EXIF: read_image leaves such pixels as stored too
            orientation = 1
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


# ------------------------------------------------------------------------------------ writing


def write_mask(path: str | Path, mask: np.ndarray) -> None:
    """Write a {0,1} or bool mask as a 0/255 single-channel PNG (the ISIC format)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((np.asarray(mask) > 0).astype(np.uint8) * 255, mode="L").save(path)


def write_image(path: str | Path, image: np.ndarray, quality: int = 95) -> None:
    """Write an (H, W, 3) uint8 RGB image; JPEG quality applies to .jpg/.jpeg."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    kwargs = {"quality": quality} if path.suffix.lower() in (".jpg", ".jpeg") else {}
    Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8), mode="RGB").save(path, **kwargs)
