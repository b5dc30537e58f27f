"""Image rules of the quality gate: sharpness, exposure, contrast, colour and size on synthetic images."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from quality_images import flat, lesion

from dermkit.quality import check_quality
from dermkit.quality.thresholds import MIN_LAPLACIAN_VARIANCE


@pytest.mark.parametrize("size", [(256, 256), (450, 600)])
def test_blurred_copy_is_blurry_and_the_original_is_not(size: tuple[int, int]) -> None:
    image = lesion(size, seed=3).image
    sharp = check_quality(image)
    # The same blur relative to the image (sigma = 1/64 of the shorter side) at both resolutions.
    blurred = check_quality(cv2.GaussianBlur(image, (0, 0), min(size) / 64))
    assert "blurry" not in sharp.codes
    assert "blurry" in blurred.codes and not blurred.ok
    flag = blurred.flags[blurred.codes.index("blurry")]
    assert flag.severity == "error" and flag.threshold == MIN_LAPLACIAN_VARIANCE
    assert flag.value == blurred.measures["laplacian_variance"] < MIN_LAPLACIAN_VARIANCE
    assert sharp.measures["laplacian_variance"] > 2 * MIN_LAPLACIAN_VARIANCE


def test_sharpness_does_not_depend_on_resolution() -> None:
    large = lesion((768, 768), seed=5).image
    # A photo and its smaller copies read alike once brought to the working size (within ~20 %:
    # area averaging by a non-integer factor smooths a little).
    values = [
        check_quality(cv2.resize(large, (side, side), interpolation=cv2.INTER_AREA)).measures["laplacian_variance"]
        for side in (768, 512, 384)
    ]
    assert max(values) / min(values) < 1.3


def test_black_and_white_images_are_under_and_overexposed() -> None:
    black, white = check_quality(flat((0, 0, 0))), check_quality(flat((255, 255, 255)))
    assert "underexposed" in black.codes and "overexposed" not in black.codes and not black.ok
    assert "overexposed" in white.codes and "underexposed" not in white.codes and not white.ok
    assert black.flags[black.codes.index("underexposed")].value == 1.0


def test_dim_and_bright_images_are_flagged_by_their_mean() -> None:
    dim = check_quality(np.clip(lesion(seed=1).image.astype(int) // 5, 0, 255).astype(np.uint8))
    assert "underexposed" in dim.codes
    assert dim.measures["dark_fraction"] <= 0.5 and dim.measures["mean_luminance"] < 40
    bright = check_quality(flat((238, 238, 238)))
    assert "overexposed" in bright.codes and bright.measures["bright_fraction"] == 0.0


def test_black_lens_frame_is_not_underexposure() -> None:
    framed = lesion((256, 256), seed=2, frame=True)
    report = check_quality(framed.image, framed.lesion_mask)
    assert report.measures["frame_fraction"] > 0.01
    assert report.codes == ()


def test_flat_grey_image_is_low_contrast() -> None:
    report = check_quality(flat((150, 120, 110)))
    assert "low_contrast" in report.codes
    assert report.flags[report.codes.index("low_contrast")].severity == "warning"
    assert report.measures["luminance_std"] == 0.0


@pytest.mark.parametrize("colour", [(0, 255, 0), (0, 0, 255), (40, 160, 220)])
def test_green_and_blue_images_are_not_dermoscopy_like(colour: tuple[int, int, int]) -> None:
    report = check_quality(flat(colour))
    assert "not_dermoscopy_like" in report.codes
    flag = report.flags[report.codes.index("not_dermoscopy_like")]
    assert flag.severity == "warning" and flag.value == 0.0


def test_colour_noise_is_not_dermoscopy_like() -> None:
    noise = np.random.default_rng(0).integers(0, 256, (128, 128, 3), dtype=np.uint8)
    report = check_quality(noise)
    assert "not_dermoscopy_like" in report.codes and "blurry" not in report.codes


def test_skin_tone_image_is_dermoscopy_like() -> None:
    report = check_quality(lesion(seed=4, label="mel").image)
    assert report.measures["skin_fraction"] > 0.9


def test_32_pixel_image_is_too_small() -> None:
    report = check_quality(cv2.resize(lesion(seed=0).image, (32, 32), interpolation=cv2.INTER_AREA))
    assert report.codes[0] == "too_small" and not report.ok
    assert (report.flags[0].value, report.flags[0].threshold) == (32.0, 64.0)
    assert "too_small" not in check_quality(lesion((64, 96), seed=0).image).codes


def test_frame_of_a_large_image_is_found_on_a_working_copy() -> None:
    framed = lesion((1024, 768), seed=2, frame=True)
    measured = check_quality(framed.image).measures["frame_fraction"]
    assert measured == pytest.approx(framed.frame_mask.mean(), abs=0.02)
    assert measured == pytest.approx(check_quality(framed.image[::2, ::2].copy()).measures["frame_fraction"], abs=0.01)
