"""The preprocessing pipeline: config validation, step order, alignment, cache key, inversion."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from dermkit.data.synthetic import synthesize_image
from dermkit.preprocess import PreprocessConfig, preprocess, preprocess_key, restore_mask

SIZE = (96, 128)


def _sample(seed: int = 0, hair: bool = True, frame: bool = True):  # noqa: ANN202 - SynthImage
    return synthesize_image(
        np.random.default_rng(seed), "mel", size=SIZE, hair=hair, frame=frame, hair_density="sparse"
    )


def test_all_steps_applied_and_mask_aligned() -> None:
    s = _sample()
    config = PreprocessConfig(frame="crop", hair="auto", color_constancy=True, size=(64, 64), fit="pad")
    out = preprocess(s.image, config, mask=s.lesion_mask)
    assert out.image.shape == (64, 64, 3) and out.image.dtype == np.uint8
    assert out.mask is not None and out.mask.shape == (64, 64)
    assert out.frame_mask is not None and out.frame_mask.shape == SIZE and out.frame_mask.any()
    y0, y1, x0, x1 = out.box
    assert (y1 - y0, x1 - x0) != SIZE, "frame crop did not crop"
    assert out.hair_mask is not None and out.hair_mask.shape == (y1 - y0, x1 - x0)
    assert out.info["hair_components"] > 0 and out.info["hair_mode_used"] in ("sparse", "dense")
    # Mask alignment: the same pipeline run on the mask as an image must give the returned mask.
    restored = restore_mask(out.mask, out)
    lesion = s.lesion_mask.astype(bool)
    iou = (restored.astype(bool) & lesion).sum() / (restored.astype(bool) | lesion).sum()
    assert iou > 0.85, f"restored-mask IoU {iou:.3f}"


def test_geometry_matches_independent_computation() -> None:
    s = _sample(3, hair=False)
    out = preprocess(s.image, PreprocessConfig(frame="crop", size=(48, 48), fit="stretch"), mask=s.lesion_mask)
    y0, y1, x0, x1 = out.box
    import cv2

    expected = cv2.resize(s.lesion_mask[y0:y1, x0:x1], (48, 48), interpolation=cv2.INTER_NEAREST_EXACT)
    assert np.array_equal(out.mask, expected)


def test_all_off_is_identity() -> None:
    s = _sample(1)
    out = preprocess(s.image, PreprocessConfig(), mask=s.lesion_mask)
    assert np.array_equal(out.image, s.image) and np.array_equal(out.mask, s.lesion_mask)
    assert out.frame_mask is None and out.hair_mask is None and out.transform is None
    assert out.box == (0, SIZE[0], 0, SIZE[1])
    assert np.array_equal(restore_mask(out.mask, out), s.lesion_mask)


def test_colour_step_changes_only_colour() -> None:
    s = _sample(2, hair=False, frame=False)
    out = preprocess(s.image, PreprocessConfig(color_constancy=True), mask=s.lesion_mask)
    assert out.image.shape == s.image.shape and not np.array_equal(out.image, s.image)
    assert np.array_equal(out.mask, s.lesion_mask)


@pytest.mark.parametrize(
    "bad",
    [
        {"frame": "blur"},
        {"hair": "yes"},
        {"fit": "squash"},
        {"size": (0, 64)},
        {"size": (64,)},
        {"hair_dense_threshold": -1},
        {"colour": True},
    ],
)
def test_invalid_config_raises_validation_error(bad: dict) -> None:
    with pytest.raises(ValidationError):
        PreprocessConfig(**bad)


def test_preprocess_key_is_stable_and_distinguishes_configs() -> None:
    a = PreprocessConfig(frame="crop", size=(224, 224))
    assert preprocess_key(a) == preprocess_key(PreprocessConfig(size=(224, 224), frame="crop"))
    assert preprocess_key(a) != preprocess_key(PreprocessConfig(frame="crop", size=(224, 224), fit="crop"))
    assert len(preprocess_key(a)) == 12 and all(c in "0123456789abcdef" for c in preprocess_key(a))
    assert preprocess_key(PreprocessConfig()) == "39d830477dcf"  # pinned: changing it invalidates caches


def test_bad_inputs_raise_value_error() -> None:
    config = PreprocessConfig()
    with pytest.raises(ValueError, match="uint8"):
        preprocess(np.zeros((8, 8, 3), np.float32), config)
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        preprocess(np.zeros((8, 8), np.uint8), config)
    with pytest.raises(ValueError, match="match their image"):
        preprocess(np.zeros((8, 8, 3), np.uint8), config, mask=np.zeros((8, 9), np.uint8))
    with pytest.raises(ValueError, match=r"mask > 128"):
        preprocess(np.zeros((8, 8, 3), np.uint8), config, mask=np.full((8, 8), 255, np.uint8))
