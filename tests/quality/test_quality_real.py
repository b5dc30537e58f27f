"""The quality gate on the shared real dermoscopy (skipped without ../shared/data).

Ordinary clinical images must pass: no error-severity flag on at least 90 % of the 20 PH2 BMPs
and of the 225 full-resolution HAM10000 JPEGs (measured: none on either; warnings are border
contacts of the expert masks and one PH2 lesion filling its image). Only counts are asserted;
nothing derived from the images is stored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from dermkit.imageio import read_image, read_mask
from dermkit.quality import CODES, check_quality

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
PH2 = DATA / "PH2Dataset" / "PH2 Dataset images"
HAM = DATA / "HAM10000_fullres"

pytestmark = pytest.mark.shared_data

Case = tuple[Path, Path | None]


def _ph2_cases() -> list[Case]:
    cases = []
    for image in sorted(PH2.glob("*/*_Dermoscopic_Image/*.bmp")):
        case = image.parent.parent
        mask = case / f"{case.name}_lesion" / f"{case.name}_lesion.bmp"
        cases.append((image, mask if mask.is_file() else None))
    return cases


def _ham_cases() -> list[Case]:
    masks = HAM / "HAM10000_segmentations_lesion_tschandl"
    cases = []
    for image in sorted((HAM / "HAM10000_images").glob("*.jpg")):
        mask = masks / f"{image.stem}_segmentation.png"
        cases.append((image, mask if mask.is_file() else None))
    return cases


def _image_errors(cases: list[Case]) -> tuple[int, Counter]:
    """Images with an error-severity image flag, and the count of every code raised."""
    failed, codes = 0, Counter()
    for image_path, mask_path in cases:
        image = read_image(image_path)
        mask = read_mask(mask_path, expected_hw=image.shape[:2]) if mask_path else None
        report = check_quality(image, mask)
        codes.update(report.codes)
        failed += any(f.severity == "error" and CODES.entry(f.code).info["scope"] == "image" for f in report.flags)
    return failed, codes


@pytest.mark.parametrize(
    ("name", "cases", "expected"),
    [("PH2", _ph2_cases, 20), pytest.param("HAM10000_fullres", _ham_cases, 225, marks=pytest.mark.slow)],
)
def test_real_dermoscopy_mostly_passes(name: str, cases: Callable[[], list[Case]], expected: int) -> None:
    found = cases()
    if not found:
        pytest.skip(f"shared {name} images are absent under {DATA} (they live outside the repository)")
    assert len(found) == expected
    failed, codes = _image_errors(found)
    assert failed <= 0.1 * len(found), f"{name}: {failed} of {len(found)} images with error flags: {dict(codes)}"
    assert codes["no_lesion"] == 0  # every expert mask outlines a lesion
