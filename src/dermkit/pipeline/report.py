"""The one-page HTML report ``dermkit predict`` writes per image (``<id>.html``), and its ``index.html``.

A report is one self-contained page: images inline as base64 PNG data URIs, CSS inline, no
JavaScript and nothing fetched, so it can be mailed, archived or printed (one A4 page) as it is.
It is built from :data:`SECTIONS`, a registry of small pure functions (one per part of the page)
that each take a :class:`ReportContext` and return an HTML fragment; :data:`LAYOUT` places them in
rows (two sections in a row stand side by side).
Every text that comes from the user or from a file (image id, metadata, class and run names) is
escaped with :func:`html.escape`.

Torch-free: the ONNX Runtime path writes the same report on machines without PyTorch.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

import cv2
import numpy as np

import dermkit
from dermkit.pipeline.overlay import draw_overlay, result_heatmap
from dermkit.pipeline.result import AnalysisResult, ModelInfo, decode_rle
from dermkit.registry import Registry

#: HAM10000's class abbreviations written out (other class names are shown as they are).
CLASS_NAMES: dict[str, str] = {
    "akiec": "actinic keratosis / intraepithelial carcinoma",
    "bcc": "basal cell carcinoma",
    "bkl": "benign keratosis",
    "df": "dermatofibroma",
    "mel": "melanoma",
    "nv": "melanocytic nevus",
    "vasc": "vascular lesion",
}

#: What each decision rule does (dermkit.calibration.decision_divisors), for the reader.
RULE_TEXT: dict[str, str] = {
    "prior": "highest probability relative to the class's share on validation (balances rare classes; "
    "it may differ from the most probable class)",
    "thresholds": "per-class thresholds fitted for balanced accuracy on validation (it may differ from the "
    "most probable class)",
    "argmax": "the most probable class",
}

#: TDS bands (dermkit.measure.tds.BANDS), as the report explains them.
TDS_BANDS_TEXT = "bands: < 4.75 benign, 4.75 to 5.45 suspicious, > 5.45 melanoma (Stolz et al. 1994)"

#: Measurement flags (dermkit.measure.lesion) -> (the quality code that already says it, the reader's sentence);
#: a flag whose quality code was raised is not repeated.
MEASUREMENT_FLAGS: dict[str, tuple[str | None, str]] = {
    "empty_mask": ("no_lesion", "Measurements: no lesion was found, so nothing was measured."),
    "too_small": ("lesion_too_small", "Measurements: the lesion is too small for A, B, C and the TDS."),
    "touches_border": (
        "lesion_touches_border",
        "Measurements: the lesion touches the image's edge; the diameter is a lower bound and A and B are read "
        "from the visible part.",
    ),
    "several_components": (None, "Measurements: the outline has several parts, measured as one lesion."),
}

#: Longer side (px) of the images embedded in a report: enough for an A4 page, small enough to mail.
THUMBNAIL_SIDE = 512

INDEX_FILE = "index.html"
REPORT_NAME = "{id}.html"

CSS = """
@page { size: A4; margin: 10mm; }
* { box-sizing: border-box; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { font: 8.5pt/1.28 "DejaVu Sans", Arial, sans-serif; color: #1a1a1a; margin: 0 auto; max-width: 190mm;
  padding: 4mm; }
h1 { font-size: 14pt; margin: 0 0 1mm; }
h2 { font-size: 10pt; margin: 2mm 0 0.8mm; border-bottom: 1px solid #999; padding-bottom: 0.5mm; }
p { margin: 0.8mm 0; }
table { border-collapse: collapse; width: 100%; }
td, th { padding: 0.4mm 1.5mm; text-align: left; vertical-align: top; border-bottom: 1px solid #e3e3e3; }
th { font-weight: 600; background: #f2f2f2; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
code { font-size: 8pt; }
.meta { color: #444; }
.figures { display: flex; gap: 3mm; }
.figures figure { flex: 1 1 0; margin: 0; min-width: 0; }
.figures img { max-width: 100%; max-height: 50mm; width: auto; height: auto; display: block;
  border: 1px solid #bbb; }
.figures figcaption { font-size: 8pt; color: #333; margin-top: 0.5mm; }
.nomap { border: 1px dashed #999; color: #555; padding: 3mm; font-size: 8.5pt; aspect-ratio: 4 / 3;
  display: flex; align-items: center; }
.scale { height: 2.2mm; background: linear-gradient(to right, #00007f, #0000ff, #00ffff, #ffff00, #ff0000, #7f0000);
  border: 1px solid #999; margin-top: 0.5mm; }
.scale-labels { display: flex; justify-content: space-between; font-size: 7pt; color: #555; }
.columns { display: flex; gap: 5mm; }
.columns > div { flex: 1 1 0; min-width: 0; }
.bar-cell { width: 30%; }
table.metrics td, table.metrics th { padding: 0.2mm 1mm; font-size: 8pt; }
.bar { height: 3mm; background: #2e6da4; }
.bar.malignant { background: #b03a2e; }
tr.decided td { font-weight: 700; }
.alert { border: 2px solid #c0392b; background: #fdecea; padding: 1.5mm 2.5mm; margin: 2mm 0; }
.alert.warning { border-color: #d68910; background: #fef5e7; }
.alert h2 { border: 0; margin-top: 0; }
.alert ul { margin: 0.5mm 0 0; padding-left: 5mm; }
table.measures th { width: 22%; white-space: nowrap; }
.ok { border-left: 3px solid #1e8449; background: #eafaf1; padding: 1mm 2.5mm; margin: 2mm 0; }
.flagged { color: #b03a2e; font-weight: 700; }
.intended { border: 1px solid #999; background: #f7f7f7; padding: 1.5mm 2.5mm; margin-top: 2.5mm; font-size: 8pt; }
footer { font-size: 7pt; color: #666; margin-top: 1.5mm; }
@media print { body { padding: 0; max-width: none; } }
"""


@dataclass(frozen=True)
class ReportContext:
    """What the sections read: the result, the embedded images (data URIs) and when it was written.

    Attributes:
        result: the analysis.
        original, outline: PNG data URIs of the image and of the image with the lesion outlined.
        heatmap: PNG data URI of the heat-map overlay, None when the result has no heat map.
        generated: when the report was written (its date is printed in the title).
    """

    result: AnalysisResult
    original: str
    outline: str
    heatmap: str | None
    generated: datetime


Section = Callable[[ReportContext], str]
#: The parts of a report; each returns an HTML fragment ("" to omit it).
SECTIONS: Registry[Section] = Registry("report section")

#: The page, top to bottom: each row names the sections shown side by side in it.
LAYOUT: tuple[tuple[str, ...], ...] = (
    ("header",),
    ("quality",),
    ("images",),
    ("decision", "malignant"),
    ("probabilities", "measurements"),
    ("models",),
    ("intended_use",),
)


def esc(value: object) -> str:
    """Any value as HTML-escaped text (quotes included, so it is also safe inside attributes)."""
    return html.escape(str(value), quote=True)


def class_label(name: str) -> str:
    """``mel (melanoma)`` for a HAM10000 class, the name alone otherwise; escaped."""
    full = CLASS_NAMES.get(name)
    return esc(name) if full is None else f"{esc(name)} ({esc(full)})"


def percent(p: float) -> str:
    return f"{100 * p:.1f}%"


def number(value: float | None, digits: int = 3) -> str:
    """A figure with ``digits`` significant digits ("n/a" for None)."""
    return "n/a" if value is None else f"{value:.{digits}g}"


# --- images -----------------------------------------------------------------------------------


def thumbnail_size(height: int, width: int, side: int = THUMBNAIL_SIDE) -> tuple[int, int]:
    """(height, width) of the embedded copy: the longer side at most ``side``, the aspect kept."""
    scale = min(1.0, side / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def png_data_uri(rgb: np.ndarray) -> str:
    """An (H, W, 3) uint8 RGB image as a ``data:image/png;base64,...`` URI."""
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(rgb[..., ::-1]))
    if not ok:
        raise ValueError(f"could not encode an image of shape {rgb.shape} as PNG")
    return "data:image/png;base64," + base64.b64encode(encoded.tobytes()).decode("ascii")


def report_images(image: np.ndarray, result: AnalysisResult) -> tuple[str, str, str | None]:
    """Data URIs of the original, the outline overlay and the heat-map overlay (None without a map),
    drawn at thumbnail size so the outline keeps a visible width."""
    h, w = thumbnail_size(*image.shape[:2])
    small = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA) if (h, w) != image.shape[:2] else image
    mask = cv2.resize(decode_rle(result.lesion.mask), (w, h), interpolation=cv2.INTER_NEAREST)
    heat = result_heatmap(result, h, w)
    heat_uri = None if heat is None else png_data_uri(draw_overlay(small, mask, heat))
    return png_data_uri(small), png_data_uri(draw_overlay(small, mask)), heat_uri


# --- sections ---------------------------------------------------------------------------------


@SECTIONS.register("header")
def header_section(ctx: ReportContext) -> str:
    """Title with the image id and the date; image size and patient metadata."""
    r = ctx.result
    patient = "no patient metadata given"
    if r.patient is not None:
        age = "unknown" if r.patient.age is None else f"{r.patient.age:g}"
        patient = f"age {esc(age)}, sex {esc(r.patient.sex)}, site {esc(r.patient.site)}"
    return (
        f"<header><h1>Dermoscopic image analysis: {esc(r.image.id)}</h1>"
        f'<p class="meta">{esc(ctx.generated.strftime("%Y-%m-%d %H:%M"))} &middot; '
        f"{r.image.width} &times; {r.image.height} px &middot; {patient}</p></header>"
    )


def warning_items(r: AnalysisResult) -> list[tuple[str, str]]:
    """(severity, message) of every quality flag, the OOD flag and the measurement flags."""
    items = [(str(f["severity"]), str(f["message"])) for f in r.quality.get("flags", [])]
    if r.ood is not None and r.ood.flag:
        items.append(
            (
                "warning",
                f"Unlike the training images: out-of-distribution score {number(r.ood.score)} is above the "
                f"threshold {number(r.ood.threshold)} ({r.ood.method}); the figures below may not hold for it.",
            )
        )
    raised = {f["code"] for f in r.quality.get("flags", [])}
    items += [
        ("warning", MEASUREMENT_FLAGS.get(flag, (None, f"Measurements: {flag.replace('_', ' ')}."))[1])
        for flag in r.measurements.get("flags", [])
        if MEASUREMENT_FLAGS.get(flag, (None, ""))[0] not in raised
    ]
    return [(severity, message[:1].upper() + message[1:]) for severity, message in items]


def ood_text(r: AnalysisResult) -> str:
    if r.ood is None:
        return "No out-of-distribution detector was fitted for this classifier run."
    verdict = "above" if r.ood.flag else "within"
    return (
        f"Out-of-distribution score {esc(number(r.ood.score))} ({esc(r.ood.method)}; threshold "
        f"{esc(number(r.ood.threshold))}, chosen on validation): {verdict} the training distribution."
    )


@SECTIONS.register("quality")
def quality_section(ctx: ReportContext) -> str:
    """The quality flags and the OOD call: a red/orange box at the top when anything warns."""
    r = ctx.result
    items = warning_items(r)
    if not items:
        return f'<div class="ok"><b>Quality checks:</b> no problem found. {ood_text(r)}</div>'
    severity = "error" if any(s == "error" for s, _ in items) else "warning"
    ood_line = "" if r.ood is not None and r.ood.flag else f"<p>{ood_text(r)}</p>"  # a flagged OOD is listed
    lines = "".join(f"<li><b>{esc(s)}:</b> {esc(m)}</li>" for s, m in items)
    return (
        f'<div class="alert {severity}"><h2>Read first: {len(items)} quality '
        f"{'problem' if len(items) == 1 else 'problems'}</h2><ul>{lines}</ul>{ood_line}</div>"
    )


def heatmap_figure(ctx: ReportContext) -> str:
    hm = ctx.result.heatmap
    if hm is None or ctx.heatmap is None:
        return (
            '<figure><div class="nomap">No heat map: this image was analysed without an explanation '
            "(none was asked for), so nothing shows which regions drove the decision.</div>"
            "<figcaption>Heat map: not computed</figcaption></figure>"
        )
    return (
        f'<figure><img src="{ctx.heatmap}" alt="heat map overlay">'
        f"<figcaption>Heat map ({esc(hm.method)}): evidence for {esc(hm.target_class)}</figcaption>"
        '<div class="scale"></div><div class="scale-labels"><span>less evidence</span><span>more</span></div>'
        "</figure>"
    )


@SECTIONS.register("images")
def images_section(ctx: ReportContext) -> str:
    """The image, the lesion outline and the heat map side by side."""
    area = ctx.result.lesion.area_px
    return (
        '<section class="figures">'
        f'<figure><img src="{ctx.original}" alt="original image"><figcaption>Image</figcaption></figure>'
        f'<figure><img src="{ctx.outline}" alt="lesion outline">'
        f"<figcaption>Lesion outline (segmentation, {area} px)</figcaption></figure>"
        f"{heatmap_figure(ctx)}</section>"
    )


def malignant_html(r: AnalysisResult) -> str:
    m = r.malignant
    if m is None:
        return "<p>No malignant-vs-benign call: the classifier has none of mel, bcc, akiec.</p>"
    call = '<span class="flagged">at or above the threshold</span>' if m.flag else "below the threshold"
    summed = " + ".join(esc(c) for c in m.classes)
    out = (
        f"<p><b>Malignant ({summed}):</b> {percent(m.probability)}, {call} of {percent(m.threshold)}.</p>"
        f"<p>Operating point: {esc(m.operating_point)}.</p>"
    )
    v = m.validation
    if v is None:
        return out + "<p><b>The threshold is not validated:</b> no sensitivity or specificity is claimed for it.</p>"

    rule = "" if v.rule == m.operating_point else f" ({esc(v.rule)})"

    def ci(interval: tuple[float, float] | None) -> str:
        return "" if interval is None else f" (95% CI {interval[0]:.2f} to {interval[1]:.2f})"

    return out + (
        f"<p>On validation: sensitivity {v.sensitivity:.2f}{ci(v.sensitivity_ci)} over {v.malignant_images} "
        f"malignant images, specificity {v.specificity:.2f}{ci(v.specificity_ci)} over {v.benign_images} benign "
        f"images{rule}.</p>"
    )


@SECTIONS.register("decision")
def decision_section(ctx: ReportContext) -> str:
    """The decision: class, its calibrated probability, and the rule that picked it."""
    d = ctx.result.decision
    rule = RULE_TEXT.get(d.rule, d.rule)
    return (
        f"<section><h2>Decision</h2><p><b>{class_label(d.class_)}</b>, calibrated probability "
        f"{percent(d.confidence)}.</p><p class='meta'>Rule <code>{esc(d.rule)}</code>: {esc(rule)}.</p></section>"
    )


@SECTIONS.register("malignant")
def malignant_section(ctx: ReportContext) -> str:
    """The malignant call with its threshold, operating point and validation figures."""
    return f"<section><h2>Malignant vs benign</h2>{malignant_html(ctx.result)}</section>"


def probability_rows(r: AnalysisResult) -> str:
    malignant = set(r.malignant.classes) if r.malignant is not None else set()
    rows = []
    for name, p in sorted(r.probabilities.items(), key=lambda item: -item[1]):
        kind = " malignant" if name in malignant else ""
        decided = ' class="decided"' if name == r.decision.class_ else ""
        rows.append(
            f"<tr{decided}><td>{class_label(name)}</td>"
            f'<td class="bar-cell"><div class="bar{kind}" style="width:{100 * p:.1f}%"></div></td>'
            f'<td class="num">{percent(p)}</td></tr>'
        )
    return "".join(rows)


@SECTIONS.register("probabilities")
def probabilities_section(ctx: ReportContext) -> str:
    """A bar per class (pure HTML/CSS), most probable first; malignant classes in red, the decision bold."""
    return (
        "<section><h2>Class probabilities (calibrated)</h2><table>"
        f"{probability_rows(ctx.result)}</table>"
        '<p class="meta">Red: the classes summed for the malignant call. Bold: the decision.</p></section>'
    )


def tds_text(tds: Mapping | None) -> str:
    if tds is None:
        return "not computed (A, B or C not measured)"
    if tds.get("value") is not None:
        return f"{tds['value']:.2f}: {esc(tds['band_low'])} (D = {tds['d']} given)"
    band = tds.get("band")
    band_text = (
        f"{esc(band)} whatever D is"
        if band is not None
        else f"{esc(tds['band_low'])} to {esc(tds['band_high'])}, depending on D"
    )
    return f"{tds['low']:.2f} to {tds['high']:.2f}: {band_text} (D, the structures, is not read from images)"


def abcd_rows(m: Mapping) -> list[tuple[str, str]]:
    """(criterion, value) rows of the measurements dict (LesionMeasurements.to_json())."""
    missing = "not measured (lesion empty or too small)"
    a, b, c = m.get("asymmetry"), m.get("border"), m.get("colours")
    rows = [("Area", f"{m.get('area_px', 0)} px")]
    diameter = f"{m.get('diameter_px', 0.0):.1f} px"
    if m.get("diameter_mm") is not None:
        diameter += f" = {m['diameter_mm']:.2f} mm (max. Feret)"
    else:
        diameter += " (max. Feret; no pixel spacing given, so no mm)"
    rows.append(("Diameter", diameter))
    rows.append(
        (
            "A asymmetry",
            missing
            if a is None
            else f"{a['score']} of 2 (shape off its mirror: major axis {a['major']['shape']:.2f}, "
            f"minor {a['minor']['shape']:.2f})",
        )
    )
    rows.append(
        (
            "B border",
            missing
            if b is None
            else f"{b['score']} of {b.get('measurable_sectors', 8)} measurable sectors abrupt"
            + ("" if b.get("compactness") is None else f" (compactness {b['compactness']:.2f})"),
        )
    )
    rows.append(
        (
            "C colours",
            missing
            if c is None
            else f"{c['score']} of 6: {esc(', '.join(x.replace('_', ' ') for x in c.get('present', [])) or 'none')}",
        )
    )
    rows.append(("TDS", f"{tds_text(m.get('tds'))}<br><span class='meta'>{esc(TDS_BANDS_TEXT)}</span>"))
    return rows


@SECTIONS.register("measurements")
def measurements_section(ctx: ReportContext) -> str:
    """The ABCD measurements from the mask and the total dermoscopy score with its band."""
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in abcd_rows(ctx.result.measurements))
    return f"<section><h2>Measurements (ABCD, from the outline)</h2><table class='measures'>{rows}</table></section>"


def metric_table(metrics: Mapping[str, float]) -> str:
    """``<side>_<metric>`` figures as one row per side (val, test) and one column per metric."""
    if not metrics:
        return "<p>No validated figures (the run did not finish).</p>"
    table: dict[str, dict[str, float]] = {}
    names: list[str] = []
    for key, value in metrics.items():
        side, _, name = key.partition("_")
        table.setdefault(side, {})[name] = value
        if name not in names:
            names.append(name)
    head = "".join(f'<th class="num">{esc(n.replace("_", " "))}</th>' for n in names)
    body = "".join(
        f"<tr><td>{esc(side)}</td>"
        + "".join(f'<td class="num">{esc(format_metric(n, row.get(n)))}</td>' for n in names)
        + "</tr>"
        for side, row in table.items()
    )
    return f"<table class='metrics'><tr><th></th>{head}</tr>{body}</table>"


def format_metric(name: str, value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.0f}" if name == "images" else f"{value:.3f}"


def model_html(part: str, m: ModelInfo) -> str:
    data = m.training_data
    images = "" if data.images is None else f", {data.images} training images"
    classes = "" if not data.classes else f"; classes {esc(', '.join(data.classes))}"
    return (
        f"<div><p><b>{esc(part)}:</b> <code>{esc(m.name)}</code>, recipe <code>{esc(m.recipe)}</code>, "
        f"checksum <code>{esc(m.checksum[:12])}</code>, dermkit {esc(m.version)}; "
        f"trained on {esc(data.dataset)}{images}{classes}.</p>{metric_table(m.validated_metrics)}</div>"
    )


@SECTIONS.register("models")
def models_section(ctx: ReportContext) -> str:
    """Which models made the result, what they were trained on, and their validated figures."""
    models = ctx.result.models
    return (
        f"<section><h2>Models (back end: {esc(models.backend)})</h2><div class='columns'>"
        f"{model_html('Segmentation', models.seg)}{model_html('Classification', models.cls)}</div></section>"
    )


@SECTIONS.register("intended_use")
def intended_use_section(ctx: ReportContext) -> str:
    """The intended-use statement and the producing software."""
    r = ctx.result
    return (
        f'<div class="intended"><b>Intended use.</b> {esc(r.intended_use)}'
        f"<footer>dermkit {esc(dermkit.__version__)}, analysis schema v{esc(r.schema_version)}; the "
        "machine-readable result is the JSON file of the same name.</footer></div>"
    )


# --- pages ------------------------------------------------------------------------------------


def html_page(title: str, body: str) -> str:
    """A complete HTML document with the report's inline CSS."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head>\n<body>\n{body}\n</body></html>\n"
    )


def layout_row(ctx: ReportContext, names: tuple[str, ...]) -> str:
    """One row of :data:`LAYOUT`: a section alone, or several side by side ("" when all are empty)."""
    parts = [part for name in names if (part := SECTIONS.get(name)(ctx))]
    if len(parts) <= 1:
        return "".join(parts)
    return '<div class="columns">' + "".join(f"<div>{part}</div>" for part in parts) + "</div>"


def render_report(image: np.ndarray, result: AnalysisResult, generated: datetime | None = None) -> str:
    """One self-contained, printable HTML page for one analysed image.

    Args:
        image: the (H, W, 3) uint8 RGB image that was analysed (the result's mask matches its size).
        result: its analysis.
        generated: the date printed in the title (default: now).
    """
    original, outline, heatmap = report_images(image, result)
    ctx = ReportContext(result, original, outline, heatmap, generated or datetime.now())
    body = "\n".join(row for names in LAYOUT if (row := layout_row(ctx, names)))
    return html_page(f"dermkit report: {result.image.id}", body)


def report_link(image_id: str, pattern: str = REPORT_NAME) -> str:
    """The relative, URL-quoted link to an image's report (ids may hold spaces, '#' or '?')."""
    return quote(pattern.format(id=image_id))


def render_index(
    rows: Sequence[Mapping[str, object]], report_name: str = REPORT_NAME, generated: datetime | None = None
) -> str:
    """``index.html``: every analysed image with its decision and a link to its report, then the failures.

    ``rows`` are ``dermkit predict``'s summary rows (id, decision, confidence, malignant_probability,
    flags, error); a row with an error is a failure (it has no report). ``report_name`` is the
    pattern the reports were written under.
    """
    done = [r for r in rows if not r.get("error")]
    failed = [r for r in rows if r.get("error")]
    lines = "".join(
        f'<tr><td><a href="{esc(report_link(str(r["id"]), report_name))}">{esc(r["id"])}</a></td>'
        f"<td>{class_label(str(r['decision']))}</td><td class='num'>{esc(r['confidence'])}</td>"
        f"<td class='num'>{esc(r.get('malignant_probability', ''))}</td>"
        f"<td>{esc(str(r.get('flags', '')).replace(';', ', '))}</td></tr>"
        for r in done
    )
    table = (
        "<table><tr><th>image</th><th>decision</th><th class='num'>confidence</th>"
        f"<th class='num'>p(malignant)</th><th>flags</th></tr>{lines}</table>"
        if done
        else "<p>No image could be analysed.</p>"
    )
    failures = ""
    if failed:
        items = "".join(f"<li><b>{esc(r['id'])}</b>: {esc(r['error'])}</li>" for r in failed)
        failures = f'<div class="alert"><h2>{len(failed)} could not be analysed</h2><ul>{items}</ul></div>'
    when = (generated or datetime.now()).strftime("%Y-%m-%d %H:%M")
    body = (
        f"<h1>dermkit predict: {len(done)} of {len(rows)} images analysed</h1>"
        f'<p class="meta">{esc(when)} &middot; one report per image (click its id); the same figures are in '
        f"summary.csv and each image's JSON file.</p>{table}{failures}"
    )
    return html_page("dermkit predict: index", body)
