"""ABCD measurements on the shared PH2 cases with their expert masks (skipped without ../shared/data).

Loads benchmarks/abcd_ph2.py, so the benchmark's sheet reader and scoring are tested too. Only
aggregate agreement is asserted; nothing derived from PH2 is stored in the repository.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHEET = ROOT.parent / "shared" / "data" / "PH2Dataset" / "PH2_dataset.xlsx"

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    if not SHEET.is_file():
        pytest.skip(f"shared PH2 data {SHEET} is absent (it lives outside the repository)")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        spec = importlib.util.spec_from_file_location("abcd_ph2", ROOT / "benchmarks" / "abcd_ph2.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    return module


def test_expert_sheet_is_read(bench: ModuleType) -> None:
    experts = bench.read_expert_sheet(SHEET)
    assert len(experts) >= 20
    assert {e.asymmetry for e in experts.values()} <= {0, 1, 2}
    assert {e.diagnosis for e in experts.values()} == {"common nevus", "atypical nevus", "melanoma"}
    assert all(1 <= len(e.colours) <= 6 for e in experts.values())


@pytest.mark.slow
def test_measurements_agree_with_the_experts(bench: ModuleType) -> None:
    from dermkit.measure.asymmetry import COLOUR_THRESHOLD, SHAPE_THRESHOLD
    from dermkit.measure.colours import MIN_FRACTION

    cases, seconds = bench.measure_cases(bench.read_expert_sheet(SHEET))
    assert len(cases) == 20 and seconds < 2.0
    for case in cases:
        data = json.loads(json.dumps(case.measured.to_json(), allow_nan=False))
        assert data["tds"] is not None and 1 <= data["colours"]["score"] <= 6
    # Loose guards below the figures in benchmarks/RESULTS.md (kappa 0.49, dark-brown F1 0.94).
    assert bench.asymmetry_kappa(cases, SHAPE_THRESHOLD, COLOUR_THRESHOLD) > 0.3
    table = bench.colour_table(cases, MIN_FRACTION)
    assert table["dark_brown"][3] > 0.8
    assert bench.mean_f1(cases, MIN_FRACTION) > 0.4
