"""check_quality: clean images pass, the report is typed and JSON-able, nothing is altered, inputs are checked."""

from __future__ import annotations

import json

import numpy as np
import pytest
from quality_images import flat, lesion

from dermkit.errors import DataError
from dermkit.quality import CODES, QualityReport, QualityThresholds, check_quality


@pytest.mark.parametrize(
    ("label", "seed", "size"), [("nv", 0, (256, 256)), ("mel", 1, (192, 256)), ("bkl", 2, (450, 600))]
)
def test_sharp_synthetic_lesion_raises_no_flag(label: str, seed: int, size: tuple[int, int]) -> None:
    synth = lesion(size, seed=seed, label=label)
    report = check_quality(synth.image, synth.lesion_mask)
    assert report.flags == () and report.ok
    assert report.measures["lesion_px"] == int(synth.lesion_mask.sum())


def test_image_and_mask_are_not_altered() -> None:
    synth = lesion(seed=7, frame=True)
    image, mask = synth.image.copy(), synth.lesion_mask.copy()
    check_quality(synth.image, synth.lesion_mask)
    assert np.array_equal(synth.image, image) and np.array_equal(synth.lesion_mask, mask)


def test_report_is_frozen_and_round_trips_through_json() -> None:
    report = check_quality(flat((0, 0, 0)), np.zeros((128, 128), np.uint8))
    assert isinstance(report, QualityReport)
    with pytest.raises(AttributeError):
        report.flags = ()  # type: ignore[misc]
    data = json.loads(json.dumps(report.to_json(), allow_nan=False))
    assert data["version"] == 1 and data["ok"] is False
    assert [f["code"] for f in data["flags"]] == list(report.codes)
    assert set(data["flags"][0]) == {"code", "severity", "message", "value", "threshold"}
    assert data["thresholds"]["min_side_px"] == 64
    assert data["measures"]["lesion_px"] == 0


def test_without_a_mask_the_mask_measures_are_null() -> None:
    report = check_quality(lesion(seed=0).image)
    assert report.measures["lesion_px"] is None and report.measures["border_contact"] is None
    assert not any(CODES.entry(c).info["scope"] == "mask" for c in report.codes)


def test_every_code_is_documented() -> None:
    assert list(CODES) == [
        "too_small",
        "blurry",
        "underexposed",
        "overexposed",
        "low_contrast",
        "not_dermoscopy_like",
        "no_lesion",
        "lesion_too_small",
        "lesion_touches_border",
        "lesion_fills_image",
    ]
    for code in CODES:
        info = CODES.entry(code).info
        assert info["severity"] in ("warning", "error") and info["scope"] in ("image", "mask")
        assert len(info["definition"]) > 20
    assert CODES.entry("not_dermoscopy_like").info["severity"] == "warning"
    assert "heuristic" in CODES.entry("not_dermoscopy_like").info["definition"]


def test_thresholds_override_the_defaults() -> None:
    image = lesion(seed=3).image
    value = check_quality(image).measures["laplacian_variance"]
    strict = check_quality(image, thresholds=QualityThresholds(min_laplacian_variance=value + 1))
    assert strict.codes == ("blurry",) and strict.flags[0].threshold == value + 1
    lenient = check_quality(flat((0, 0, 0)), thresholds=QualityThresholds(max_dark_fraction=1.0, min_mean_luminance=0))
    assert "underexposed" not in lenient.codes
    small = flat((150, 120, 110), (32, 32))
    assert "too_small" not in check_quality(small, thresholds=QualityThresholds(min_side_px=16)).codes


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ([[0, 0, 0]], "numpy array"),
        (np.zeros((8, 8), np.uint8), "(H, W, 3)"),
        (np.zeros((8, 8, 4), np.uint8), "(H, W, 3)"),
        (np.zeros((8, 8, 3), np.float32), "dtype uint8"),
        (np.zeros((0, 8, 3), np.uint8), "must not be empty"),
    ],
)
def test_bad_images_raise_data_error(image: object, expected: str) -> None:
    with pytest.raises(DataError, match="got") as err:
        check_quality(image)  # type: ignore[arg-type]
    assert expected in str(err.value)


@pytest.mark.parametrize(
    ("mask", "expected"),
    [
        (np.zeros((16, 16), np.uint8), "but its image is (32, 32)"),
        (np.zeros((32, 32, 1), np.uint8), "shape (H, W)"),
        (np.full((32, 32), 255, np.uint8), "values in {0, 1}, got max 255"),
        (np.zeros((32, 32), np.float32), "got dtype float32"),
    ],
)
def test_bad_masks_raise_data_error(mask: np.ndarray, expected: str) -> None:
    with pytest.raises(DataError) as err:
        check_quality(flat((150, 120, 110), (32, 32)), mask)
    assert expected in str(err.value)


def test_thresholds_of_the_wrong_type_raise_data_error() -> None:
    with pytest.raises(DataError, match="QualityThresholds, got dict"):
        check_quality(flat((150, 120, 110)), thresholds={"min_side_px": 10})  # type: ignore[arg-type]
