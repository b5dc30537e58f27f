"""ABCD measurements (dermkit.measure) against PH2's expert annotations on the shared PH2 cases.

Each shared PH2 case is measured with its EXPERT lesion mask, and the measured asymmetry (0/1/2)
and colours (the six-colour palette) are compared with the experts' scores in ``PH2_dataset.xlsx``:
quadratic-weighted Cohen kappa and the confusion table for asymmetry, per-colour F1 and the
Pearson/Spearman correlation of the colour counts. Usage::

    python benchmarks/abcd_ph2.py          # report with the library's constants
    python benchmarks/abcd_ph2.py --fit    # also re-fit the thresholds on the fit half

The cases are split into two halves, stratified by the experts' asymmetry (sorted by asymmetry and
name, then alternated): ``--fit`` chooses the asymmetry thresholds (best kappa) and the colours'
minimum fraction (best mean F1) on the fit half only, over small grids, ties going to the value
nearest the library's reasoned default. The figures are printed for both halves and all cases.
Only aggregate figures are printed (the PH2 licence forbids publishing anything derived from it
image by image). Prints a message and exits 0 when ../shared/data is absent.
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from _common import SHARED

PH2 = SHARED / "PH2Dataset"
SHEET = PH2 / "PH2_dataset.xlsx"

#: Sheet header (lower case, first line) -> dermkit.measure colour name.
SHEET_COLOURS = {
    "white": "white",
    "red": "red",
    "light-brown": "light_brown",
    "dark-brown": "dark_brown",
    "blue-gray": "blue_grey",
    "black": "black",
}

SHAPE_GRID = (0.06, 0.08, 0.10, 0.12, 0.14, 0.16)
COLOUR_GRID = (6.0, 8.0, 10.0, 12.0, 15.0, 20.0, math.inf)
FRACTION_GRID = (0.005, 0.01, 0.02, 0.05, 0.1)


@dataclass(frozen=True)
class Expert:
    """One case's expert scores from the sheet."""

    asymmetry: int
    colours: frozenset[str]
    diagnosis: str


@dataclass(frozen=True)
class Case:
    """One measured case: the expert scores and what dermkit.measure measured."""

    name: str
    expert: Expert
    measured: object  # dermkit.measure.LesionMeasurements


def _header_text(cell: object) -> str:
    return str(cell or "").strip().splitlines()[0].strip().lower() if cell else ""


def read_expert_sheet(path: Path) -> dict[str, Expert]:
    """Expert asymmetry, colours and diagnosis per image from the original PH2 sheet.

    The sheet starts with a legend; the row holding "Image Name" is the header. Colours are marked
    with an "X"; a case listed twice must agree with itself.
    """
    import openpyxl

    rows = list(openpyxl.load_workbook(path, read_only=True, data_only=True).worksheets[0].iter_rows(values_only=True))
    at = next(i for i, row in enumerate(rows) if any(_header_text(c) == "image name" for c in row))
    header = [_header_text(c) for c in rows[at]]
    name_col = header.index("image name")
    asym_col = next(i for i, h in enumerate(header) if h.startswith("asymmetry"))
    colour_cols = {header.index(h): name for h, name in SHEET_COLOURS.items()}
    dx_cols = {header.index(h): h for h in ("common nevus", "atypical nevus", "melanoma")}
    experts: dict[str, Expert] = {}
    for row in rows[at + 1 :]:
        if not row[name_col]:
            continue
        name = str(row[name_col]).strip()
        marked = {name for col, name in colour_cols.items() if str(row[col] or "").strip().upper() == "X"}
        diagnosis = next(dx for col, dx in dx_cols.items() if str(row[col] or "").strip().upper() == "X")
        expert = Expert(int(row[asym_col]), frozenset(marked), diagnosis)
        if experts.get(name, expert) != expert:
            raise SystemExit(f"{path}: {name} is listed twice with different scores")
        experts[name] = expert
    return experts


def measure_cases(experts: dict[str, Expert]) -> tuple[list[Case], float]:
    """Measure every shared PH2 case that the sheet scores, with its expert mask."""
    from dermkit.data.readers import load_table
    from dermkit.imageio import read_image, read_mask
    from dermkit.measure import measure_lesion

    records = load_table(PH2).records
    cases, seconds = [], 0.0
    for row in records.itertuples():
        image = read_image(row.image_path)
        mask = read_mask(row.mask_path, expected_hw=image.shape[:2])
        start = time.perf_counter()
        measured = measure_lesion(image, mask)
        seconds += time.perf_counter() - start
        if measured.tds is None:
            raise SystemExit(f"{row.mask_path}: not measurable ({', '.join(measured.flags)})")
        cases.append(Case(row.image_id, experts[row.image_id], measured))
    return cases, seconds / max(1, len(cases))


def halves(cases: list[Case]) -> tuple[list[Case], list[Case]]:
    """(fit, report): sorted by expert asymmetry then name, alternated, so both get each grade."""
    ordered = sorted(cases, key=lambda c: (c.expert.asymmetry, c.name))
    return ordered[0::2], ordered[1::2]


# ------------------------------------------------------------------------------------ scoring


def predicted_asymmetry(case: Case, shape: float, colour: float) -> int:
    """The measured A, re-scored with the given thresholds from the stored per-axis values."""
    from dermkit.measure.asymmetry import score_asymmetry

    a = case.measured.asymmetry
    return score_asymmetry((a.major.shape, a.major.colour), (a.minor.shape, a.minor.colour), shape, colour).score


def predicted_colours(case: Case, min_fraction: float) -> frozenset[str]:
    """The measured colours, re-thresholded at ``min_fraction`` from the stored fractions."""
    from dermkit.measure.colours import colours_present

    c = case.measured.colours
    return frozenset(colours_present(c.fractions, min_fraction, fallback=c.present[0]))


def asymmetry_kappa(cases: list[Case], shape: float, colour: float) -> float:
    """Quadratic-weighted Cohen kappa between the experts' and the measured A (0/1/2)."""
    from sklearn.metrics import cohen_kappa_score

    expert = [c.expert.asymmetry for c in cases]
    ours = [predicted_asymmetry(c, shape, colour) for c in cases]
    if len(set(expert)) == 1 and len(set(ours)) == 1:
        return float("nan")  # kappa is undefined when both raters use one grade only
    return float(cohen_kappa_score(expert, ours, labels=[0, 1, 2], weights="quadratic"))


def colour_table(cases: list[Case], min_fraction: float) -> dict[str, tuple[int, int, int, float]]:
    """Colour -> (TP, FP, FN, F1); F1 is NaN for a colour neither the experts nor we found."""
    from dermkit.measure import COLOURS

    table = {}
    for name in COLOURS:
        got = [name in predicted_colours(c, min_fraction) for c in cases]
        want = [name in c.expert.colours for c in cases]
        tp = sum(g and w for g, w in zip(got, want, strict=True))
        fp = sum(g and not w for g, w in zip(got, want, strict=True))
        fn = sum(w and not g for g, w in zip(got, want, strict=True))
        table[name] = (tp, fp, fn, 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan"))
    return table


def mean_f1(cases: list[Case], min_fraction: float) -> float:
    """Mean F1 over the colours the experts marked at least once in ``cases``."""
    rows = [r for r in colour_table(cases, min_fraction).values() if r[0] + r[2] > 0]
    return float(np.mean([r[3] for r in rows])) if rows else float("nan")


def bootstrap_interval(cases: list[Case], statistic, n_boot: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95 % percentile interval of ``statistic(cases)`` over resamples of the cases (NaN draws dropped)."""
    rng = np.random.default_rng(seed)
    draws = [statistic([cases[i] for i in rng.integers(0, len(cases), len(cases))]) for _ in range(n_boot)]
    low, high = np.nanpercentile(np.array(draws, dtype=float), [2.5, 97.5])
    return float(low), float(high)


def _best(grid: tuple[float, ...], default: float, score) -> float:
    """The grid value with the best score; ties go to the value nearest ``default``."""
    ordered = sorted(grid, key=lambda v: abs(math.log(v / default)) if math.isfinite(v) else math.inf)
    scores = [score(v) for v in ordered]
    return ordered[int(np.nanargmax(scores))]


def fit(cases: list[Case]) -> tuple[float, float, float]:
    """(shape threshold, colour threshold, minimum colour fraction) chosen on ``cases``."""
    from dermkit.measure.asymmetry import COLOUR_THRESHOLD, SHAPE_THRESHOLD
    from dermkit.measure.colours import MIN_FRACTION

    pairs = [(s, c) for s in SHAPE_GRID for c in COLOUR_GRID]
    distance = {
        p: abs(math.log(p[0] / SHAPE_THRESHOLD))
        + (abs(math.log(p[1] / COLOUR_THRESHOLD)) if math.isfinite(p[1]) else 9)
        for p in pairs
    }
    pairs.sort(key=distance.get)
    kappas = [asymmetry_kappa(cases, s, c) for s, c in pairs]
    shape, colour = pairs[int(np.nanargmax(kappas))]
    return shape, colour, _best(FRACTION_GRID, MIN_FRACTION, lambda f: mean_f1(cases, f))


# ------------------------------------------------------------------------------------ report


def report(name: str, cases: list[Case], shape: float, colour: float, min_fraction: float) -> None:
    """Print one Markdown block of agreement figures for ``cases``."""
    from scipy.stats import pearsonr, spearmanr

    print(f"\n### {name} ({len(cases)} cases)\n")
    kappa = asymmetry_kappa(cases, shape, colour)
    low, high = bootstrap_interval(cases, lambda sample: asymmetry_kappa(sample, shape, colour))
    exact = np.mean([predicted_asymmetry(c, shape, colour) == c.expert.asymmetry for c in cases])
    print(
        f"Asymmetry: quadratic-weighted kappa **{kappa:.2f}** [95% bootstrap interval {low:.2f}, {high:.2f}], "
        f"exact agreement {exact:.2f}\n"
    )
    print("| expert \\ measured | 0 | 1 | 2 |\n|---|---|---|---|")
    for grade in (0, 1, 2):
        row = [
            sum(predicted_asymmetry(c, shape, colour) == g for c in cases if c.expert.asymmetry == grade)
            for g in (0, 1, 2)
        ]
        print(f"| {grade} | " + " | ".join(str(v) for v in row) + " |")
    print("\n| colour | expert-marked cases | TP | FP | FN | F1 |\n|---|---|---|---|---|---|")
    for colour_name, (tp, fp, fn, f1) in colour_table(cases, min_fraction).items():
        f1_text = "-" if math.isnan(f1) else f"{f1:.2f}"
        print(f"| {colour_name} | {tp + fn} | {tp} | {fp} | {fn} | {f1_text} |")
    ours = [len(predicted_colours(c, min_fraction)) for c in cases]
    theirs = [len(c.expert.colours) for c in cases]
    pearson, spearman = pearsonr(ours, theirs)[0], spearmanr(ours, theirs)[0]

    def count_spearman(sample: list[Case]) -> float:
        x = [len(predicted_colours(c, min_fraction)) for c in sample]
        y = [len(c.expert.colours) for c in sample]
        return float("nan") if len(set(x)) < 2 or len(set(y)) < 2 else float(spearmanr(x, y)[0])

    low, high = bootstrap_interval(cases, count_spearman)
    print(
        f"\nColour count: Pearson r {pearson:.2f}, Spearman rho {spearman:.2f} [{low:.2f}, {high:.2f}]; "
        f"mean count measured {np.mean(ours):.2f}, experts {np.mean(theirs):.2f}; mean F1 over expert-marked colours "
        f"{mean_f1(cases, min_fraction):.2f}"
    )


def describe(cases: list[Case]) -> None:
    """Border, compactness and TDS range by diagnosis (no PH2 ground truth exists for them)."""
    print("\n### B, compactness and TDS range by diagnosis (descriptive; PH2 has no border score)\n")
    print("| diagnosis | cases | B median [min, max] | compactness median | TDS range median | flagged |")
    print("|---|---|---|---|---|---|")
    for dx in ("common nevus", "atypical nevus", "melanoma"):
        group = [c.measured for c in cases if c.expert.diagnosis == dx]
        b = [m.border.score for m in group]
        compact = [m.border.compactness for m in group]
        lows, highs = [m.tds.low for m in group], [m.tds.high for m in group]
        flagged = sum(bool(m.flags) for m in group)
        print(
            f"| {dx} | {len(group)} | {np.median(b):.0f} [{min(b)}, {max(b)}] | {np.median(compact):.2f} | "
            f"{np.median(lows):.2f}-{np.median(highs):.2f} | {flagged} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", action="store_true", help="re-fit the thresholds on the fit half and use them")
    args = parser.parse_args()
    if not SHEET.is_file():
        print(f"skipped: {SHEET} not found (the shared PH2 data lives outside the repository)")
        return
    from dermkit.measure.asymmetry import COLOUR_THRESHOLD, SHAPE_THRESHOLD
    from dermkit.measure.colours import MIN_FRACTION

    cases, seconds = measure_cases(read_expert_sheet(SHEET))
    fit_half, report_half = halves(cases)
    shape, colour, fraction = SHAPE_THRESHOLD, COLOUR_THRESHOLD, MIN_FRACTION
    print(f"{len(cases)} PH2 cases measured with their expert masks, {seconds:.2f} s per case")
    if args.fit:
        shape, colour, fraction = fit(fit_half)
        print(f"fitted on the fit half: shape {shape}, colour {colour}, min fraction {fraction}")
    print(f"thresholds: shape non-overlap > {shape}, colour Delta E > {colour}, colour fraction > {fraction}")
    report("Fit half", fit_half, shape, colour, fraction)
    report("Report half (not used for fitting)", report_half, shape, colour, fraction)
    report("All cases", cases, shape, colour, fraction)
    describe(cases)


if __name__ == "__main__":
    main()
