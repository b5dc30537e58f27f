"""Hair and frame removal on a few real HAM10000 images, when ../shared/data is present."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dermkit.imageio import read_image
from dermkit.preprocess import remove_black_frame, remove_hair

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
IMAGES = DATA / "HAM10000_fullres" / "HAM10000_images"
# Hairy images (a dense hair mat, many separate hairs) and images without dark corners, chosen by eye.
HAIRY = ["ISIC_0024832", "ISIC_0031506"]
NO_CORNERS = ["ISIC_0024306", "ISIC_0024307", "ISIC_0030606"]
ROUND_LENS = "ISIC_0034169"

pytestmark = pytest.mark.shared_data


def _load(image_id: str) -> np.ndarray:
    path = IMAGES / f"{image_id}.jpg"
    if not path.exists():
        pytest.skip(f"{path} not found: the shared HAM10000 full-resolution images are not on this machine")
    return read_image(path)


@pytest.mark.parametrize("image_id", HAIRY + NO_CORNERS)
def test_hair_removal_is_sane(image_id: str) -> None:
    image = _load(image_id)
    result = remove_hair(image)
    assert result.image.shape == image.shape and result.image.dtype == np.uint8
    assert result.hair_mask.shape == image.shape[:2]
    changed = np.abs(result.image.astype(int) - image).max(axis=2) > 0
    if image_id in HAIRY:
        assert result.n_components > 0 and result.hair_mask.mean() > 0.01
        # Removed hair was dark: repaired pixels got brighter on average.
        grown = result.hair_mask.astype(bool)
        assert result.image[grown].mean() > image[grown].mean() + 10
    else:
        assert changed.mean() < 0.05, "hair removal changed too much of a hairless image"


@pytest.mark.parametrize("image_id", NO_CORNERS)
def test_frame_mask_small_without_dark_corners(image_id: str) -> None:
    image = _load(image_id)
    result = remove_black_frame(image, mode="crop")
    assert result.frame_mask.mean() < 0.01
    assert result.image.shape[0] * result.image.shape[1] > 0.9 * image.shape[0] * image.shape[1]


def test_round_lens_frame_is_found_and_cropped() -> None:
    image = _load(ROUND_LENS)
    result = remove_black_frame(image, mode="crop")
    assert 0.01 < result.frame_mask.mean() < 0.2
    y0, y1, x0, x1 = result.box
    assert result.frame_mask[y0:y1, x0:x1].sum() == 0
    inpainted = remove_black_frame(image, mode="inpaint")
    assert inpainted.image.shape == image.shape
