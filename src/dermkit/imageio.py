"""Decoding images and masks from disk, with one specific error per way a file can be bad.

Every failure raises :class:`~dermkit.errors.DataError` whose ``kind`` says what is wrong
(``missing_file``, ``empty_file``, ``not_an_image``, ``truncated_image``, ``unreadable_image``,
``mask_size_mismatch``) and whose message names the file, the reason and what to do.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from dermkit.errors import DataError

#: The ISIC scorer binarises ground-truth and predicted masks with ``value > 128``.
MASK_THRESHOLD = 128

IMAGE_SUFFIXES: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")


class ImageError(DataError):
    """An image or mask file that cannot be decoded; ``kind`` names the reason."""

    def __init__(self, kind: str, path: str | Path, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.kind = kind
        self.path = str(path)


def _check_file(path: Path) -> None:
    if not path.exists():
        raise ImageError("missing_file", path, "file not found; check the path or re-download the data set")
    if path.stat().st_size == 0:
        raise ImageError("empty_file", path, "file is empty (0 bytes); re-copy or re-download it, or exclude it")


def _open(path: str | Path) -> Image.Image:
    """Open and fully decode ``path`` (PIL decodes lazily; truncation only shows on load)."""
    path = Path(path)
    _check_file(path)
    try:
        img = Image.open(path)
        img.load()
    except UnidentifiedImageError:
        raise ImageError(
            "not_an_image", path,
            "not a readable image (wrong format or not an image at all); replace the file or exclude it",
        ) from None
    except OSError as exc:
        if "truncated" in str(exc).lower() or "broken data stream" in str(exc).lower():
            raise ImageError(
                "truncated_image", path, f"image data is truncated ({exc}); re-copy the file or exclude it"
            ) from None
        raise ImageError("unreadable_image", path, f"cannot decode image ({exc}); replace it or exclude it") from None
    except (ValueError, SyntaxError) as exc:  # PIL raises these for some malformed headers
        raise ImageError("unreadable_image", path, f"cannot decode image ({exc}); replace it or exclude it") from None
    return img


def read_image(path: str | Path) -> np.ndarray:
    """Read an image as (H, W, 3) uint8 RGB; grey and palette images are converted."""
    return np.asarray(_open(path).convert("RGB"), dtype=np.uint8)


def read_mask_raw(path: str | Path) -> np.ndarray:
    """Read a mask as (H, W) uint8 grey levels (palette, 1-bit and RGB masks converted with "L")."""
    return np.asarray(_open(path).convert("L"), dtype=np.uint8)


def binarise_mask(grey: np.ndarray) -> np.ndarray:
    """(H, W) grey levels -> (H, W) uint8 {0, 1} with the ISIC rule ``value > 128``."""
    return (grey > MASK_THRESHOLD).astype(np.uint8)


def read_mask(path: str | Path, expected_hw: tuple[int, int] | None = None) -> np.ndarray:
    """Read a lesion mask as (H, W) uint8 in {0, 1}.

    Args:
        path: mask file (PNG/BMP; palette and 1-bit files are fine).
        expected_hw: the (height, width) of its image; a different size raises
            ``mask_size_mismatch`` instead of silently resizing a mask that may belong elsewhere.
    """
    mask = binarise_mask(read_mask_raw(path))
    if expected_hw is not None and mask.shape != tuple(expected_hw):
        raise ImageError(
            "mask_size_mismatch", path,
            f"mask is {mask.shape[1]}x{mask.shape[0]} (WxH) but its image is "
            f"{expected_hw[1]}x{expected_hw[0]}; fix or regenerate the mask, or exclude the image",
        )
    return mask


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) from the header only; raises like :func:`read_image` if unreadable."""
    path = Path(path)
    _check_file(path)
    try:
        with Image.open(path) as img:
            return img.size
    except UnidentifiedImageError:
        raise ImageError("not_an_image", path, "not a readable image; replace the file or exclude it") from None


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
