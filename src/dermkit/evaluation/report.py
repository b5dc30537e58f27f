"""One self-contained HTML page summarising a run of the main job (images embedded)."""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

import pandas as pd

STYLE = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}
img{max-width:100%;border:1px solid #eee;margin:.4em 0}
.note{color:#666;font-size:.9em}
"""


def _img(path: str | Path | None, alt: str) -> str:
    if path is None or not Path(path).exists():
        return f'<p class="note">({html.escape(alt)}: not produced)</p>'
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _table(frame: pd.DataFrame, digits: int = 3) -> str:
    return frame.to_html(float_format=lambda v: f"{v:.{digits}f}", border=0, escape=True)


def _kv(pairs: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(f'{v:.4f}' if isinstance(v, float) else str(v))}</td></tr>"
        for k, v in pairs.items()
    )
    return f"<table>{rows}</table>"


def _with_ci(metrics: dict[str, Any], ci95: dict[str, Any]) -> dict[str, Any]:
    """``metrics`` with each value that has a 95% interval in ``ci95`` written "value [low, high]"."""
    return {
        k: f"{v:.4f} [{ci95[k][0]:.4f}, {ci95[k][1]:.4f}] (95% CI over lesions)" if k in ci95 else v
        for k, v in metrics.items()
    }


def markdown_table(frame: pd.DataFrame, digits: int = 3) -> str:
    """A DataFrame as a GitHub Markdown table (floats rounded, NaN/None as "-")."""

    def cell(v: Any) -> str:
        if v is None or v is pd.NA or (isinstance(v, float) and v != v):
            return "-"
        return f"{v:.{digits}f}" if isinstance(v, float) else str(v)

    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "---|" * len(frame.columns)
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body]) + "\n"


def write_report(path: Path, title: str, sections: list[tuple[str, list[str]]]) -> Path:
    """Write ``sections`` [(heading, [html fragments])] as one HTML file."""
    body = "".join(f"<h2>{html.escape(h)}</h2>{''.join(parts)}" for h, parts in sections)
    path.write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return path


def demo_report(out: Path, summary: dict[str, Any]) -> Path:
    """The main job's report: data, split, artefact removal, segmentation, classification."""
    sections: list[tuple[str, list[str]]] = []
    d = summary["data"]
    sections.append(
        (
            "Data",
            [
                _kv(
                    {
                        "folder": d["path"],
                        "layout": d["layout"],
                        "images": d["images"],
                        "lesions": d["lesions"],
                        "check errors": summary["data_check"]["errors"],
                        "check warnings": summary["data_check"]["warnings"],
                    }
                ),
                _table(pd.DataFrame({"images": d["classes"]})),
                _img(out / "data_check" / "class_distribution.png", "class distribution"),
            ],
        )
    )
    sp = summary["split"]
    sections.append(
        (
            "Lesion-grouped split",
            [
                _table(pd.DataFrame.from_dict(sp["counts"], orient="index"), 0),
                f"<p>Lesions on two sides: {sp['lesions_on_two_sides']}; near-duplicate images across sides: "
                f"{sp['near_duplicates_across_sides']}.</p>",
            ],
        )
    )
    sections.append(("Artefact removal", [_img(summary.get("preprocess_gallery"), "hair and frame removal")]))
    if "segmentation" in summary:
        seg = summary["segmentation"]
        sections.append(
            (
                "Segmentation",
                [
                    _kv(
                        {
                            "run": seg["run"],
                            "best epoch": seg["best_epoch"],
                            **{f"test {k}": v for k, v in _with_ci(seg["test"], seg.get("ci95", {})).items()},
                        }
                    ),
                    _img(seg["curves"], "training curves"),
                    _img(seg["gallery"], "lowest-Jaccard test images"),
                ],
            )
        )
    if "classification" in summary:
        cls = summary["classification"]
        test = _with_ci(cls["test"], cls.get("ci95", {}))
        parts = [_kv({"run": cls["run"], **{k: v for k, v in test.items() if not isinstance(v, dict)}})]
        if "bayes_limit" in cls:
            limit = cls["bayes_limit"]
            parts.append(
                f'<p class="note">No classifier beats the synthetic generator\'s Bayes limit on average: balanced '
                f"accuracy {limit['image']:.3f} from the image alone, {limit['image+metadata']:.3f} from the image and "
                "the patient metadata (some lesions are drawn in the style of a look-alike class; only the metadata "
                "can tell them apart).</p>"
            )
        if cls.get("per_class_csv") and Path(cls["per_class_csv"]).exists():
            parts.append(_table(pd.read_csv(cls["per_class_csv"], index_col=0)))
        for key, alt in (
            ("curves", "training curves"),
            ("confusion_png", "confusion matrix"),
            ("roc_png", "ROC curves"),
            ("reliability_png", "reliability diagram"),
            ("examples_png", "example predictions"),
        ):
            parts.append(_img(cls.get(key), alt))
        sections.append(("Classification", parts))
    if "package" in summary:
        sections.append(("Model package on held-back images", package_section(out, summary["package"])))
    return write_report(out / "report.html", "dermkit report", sections)


def package_section(out: Path, pkg: dict[str, Any]) -> list[str]:
    """The exported package, and its answers on held-back images: outline + heat map, decision, truth."""
    parts = [
        _kv({"package": pkg["package"], "sha256": pkg["sha256"], "analysed": pkg["analysed"]}),
        "<p>Run on ONNX Runtime, without PyTorch, as a clinic laptop would: "
        f"<code>{html.escape(pkg['predict_command'])}</code>. One report per image: "
        f'<a href="{html.escape(str(Path(pkg["index"]).relative_to(out)))}">predictions/index.html</a>. '
        f"Serve them in a web page and REST API: <code>{html.escape(pkg.get('serve_command', ''))}</code>.</p>",
    ]
    rows = [
        {
            "image": e["id"],
            "truth": e["truth"],
            "decision": e["decision"],
            "confidence": e["confidence"],
            "p(malignant)": e["malignant_probability"],
            "flags": e["flags"] or "-",
        }
        for e in pkg["examples"]
        if not e["error"]
    ]
    if rows:
        parts.append(_table(pd.DataFrame(rows).set_index("image")))
    parts += [_img(e["overlay"], f"{e['id']}: outline and heat map") for e in pkg["examples"] if not e["error"]]
    parts += [f'<p class="note">{html.escape(line)}</p>' for line in pkg["failed"]]
    return parts
