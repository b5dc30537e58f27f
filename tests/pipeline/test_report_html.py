"""The per-image HTML report and index.html: self-contained, every section, user text escaped, torch-free."""

from __future__ import annotations

import base64
import io
import shutil
import subprocess
import sys
from datetime import datetime
from html.parser import HTMLParser

import numpy as np
import pytest
from PIL import Image

from dermkit.data.readers import load_table
from dermkit.ood import OperatingPoint
from dermkit.pipeline.assemble import Classification, build_result
from dermkit.pipeline.report import CLASS_NAMES, render_index, render_report, report_images, thumbnail_size
from dermkit.pipeline.result import (
    DEFAULT_OPERATING_POINT,
    ModelInfo,
    Models,
    OutOfDistribution,
    PatientInfo,
    TrainingData,
)

HAM = ["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"]
WHEN = datetime(2026, 12, 1, 9, 30)
VOID = {"meta", "img", "br", "hr", "link", "input"}
#: Tags that separate words in the page's text (inline ones such as <b> do not).
BLOCKS = {"div", "p", "li", "ul", "tr", "td", "th", "h1", "h2", "figure", "figcaption", "section", "header", "br"}


class Page(HTMLParser):
    """Collects the tags, image sources, links and text of a page, and checks that tags nest."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(text)
        self.close()
        assert not self.stack, f"unclosed tags: {self.stack}"

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in BLOCKS:
            self.text.append(" ")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()
        if tag in BLOCKS:
            self.text.append(" ")

    def handle_data(self, data):
        self.text.append(data)

    @property
    def plain(self) -> str:
        return " ".join("".join(self.text).split())

    def attrs(self, tag: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag]


def lesion_image(h: int, w: int, cx: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A textured skin-coloured image with a dark elliptical lesion centred at x = cx * w; its mask."""
    yy, xx = np.mgrid[:h, :w]
    mask = (((yy - h / 2) / (0.3 * h)) ** 2 + ((xx - cx * w) / (0.3 * w)) ** 2 <= 1).astype(np.uint8)
    image = np.empty((h, w, 3), np.float64)
    image[:] = (205, 160, 140)
    image[mask > 0] = (110, 65, 45)
    image[(mask > 0) & (xx > cx * w)] = (70, 40, 30)
    image += np.random.default_rng(seed).normal(0, 8, image.shape)
    return image.clip(0, 255).astype(np.uint8), mask


def model_info(name: str, metrics: dict[str, float]) -> ModelInfo:
    return ModelInfo(
        name=name,
        run="/runs/" + name,
        recipe=f"{name}-recipe",
        checksum="0123456789abcdef" * 4,
        version="0.1.0",
        training_data=TrainingData(dataset="ham10000", images=7000, classes=HAM),
        validated_metrics=metrics,
    )


MODELS = Models(
    seg=model_info("unet_s2", {"val_dice": 0.912, "val_images": 1000, "test_dice": 0.897, "test_images": 1500}),
    cls=model_info("hybrid_resnetv2_attention_s5", {"val_bma": 0.734, "test_bma": 0.705, "test_images": 1500}),
)
VALIDATED = OperatingPoint(
    threshold=0.3,
    rule="sensitivity_target",
    target_sensitivity=0.9,
    classes=("mel", "bcc", "akiec"),
    true_positives=137,
    positives=150,
    true_negatives=527,
    negatives=850,
)


@pytest.fixture(scope="module")
def full():
    """A lesion on the left edge (a quality warning), a heat map, an OOD flag, a validated malignant threshold."""
    image, mask = lesion_image(64, 64, cx=0.2)
    yy, xx = np.mgrid[:64, :64]
    heat = np.exp(-(((yy - 32) / 12.0) ** 2 + ((xx - 14) / 12.0) ** 2))
    proba = np.array([0.03, 0.05, 0.10, 0.02, 0.45, 0.33, 0.02])
    ood = OutOfDistribution(method="mahalanobis", score=3.25, threshold=1.4, flag=True)
    cls = Classification(HAM, proba, "mel", 0.45, "prior", heatmap=heat, heatmap_method="gradcam", ood=ood)
    result = build_result(image, "ISIC_0001", None, mask, cls, MODELS, VALIDATED)
    assert "lesion_touches_border" in [f["code"] for f in result.quality["flags"]]
    return image, result


@pytest.fixture(scope="module")
def plain():
    """No heat map, no malignant class, no OOD detector, no quality flag."""
    image, mask = lesion_image(64, 64, cx=0.5, seed=1)
    classes = ["bkl", "df", "nv", "vasc"]
    cls = Classification(classes, np.array([0.2, 0.1, 0.6, 0.1]), "nv", 0.6, "argmax")
    result = build_result(image, "case 7", None, mask, cls, MODELS)
    assert result.heatmap is None and result.malignant is None and result.ood is None
    assert result.quality["flags"] == [] and result.measurements["flags"] == []
    return image, result


def decode_png(uri: str) -> Image.Image:
    prefix = "data:image/png;base64,"
    assert uri.startswith(prefix)
    picture = Image.open(io.BytesIO(base64.b64decode(uri[len(prefix) :])))
    assert picture.format == "PNG"
    return picture


def test_the_report_has_every_section_and_figure(full):
    image, result = full
    page = Page(render_report(image, result, WHEN))
    text = page.plain
    assert "Dermoscopic image analysis: ISIC_0001" in text and "2026-12-01" in text
    for heading in ("Decision", "Malignant vs benign", "Class probabilities", "Measurements", "Models (back end"):
        assert heading in text
    assert "mel (melanoma), calibrated probability 45.0%" in text and "Rule prior" in text
    for name, p in result.probabilities.items():
        assert f"{name} ({CLASS_NAMES[name]})" in text and f"{100 * p:.1f}%" in text
    widths = [a["style"] for a in page.attrs("div") if "bar" in (a.get("class") or "")]
    assert sorted(widths) == sorted(f"width:{100 * p:.1f}%" for p in result.probabilities.values())
    # the malignant call, its threshold, operating point and validation figures
    assert "Malignant (mel + bcc + akiec): 53.0%, at or above the threshold of 30.0%" in text
    assert "sensitivity 0.91 (95% CI 0.86 to 0.95) over 150 malignant images" in text
    assert "specificity 0.62 (95% CI 0.59 to 0.65) over 850 benign images" in text
    # ABCD and TDS as measured
    m = result.measurements
    assert f"A asymmetry {m['asymmetry']['score']} of 2" in text
    assert f"C colours {m['colours']['score']} of 6" in text
    assert f"TDS {m['tds']['low']:.2f} to {m['tds']['high']:.2f}" in text
    # model identifiers: short checksum, recipe, training data, validated metrics
    assert "0123456789ab" in text and "0123456789abcdef0123" not in text
    assert "unet_s2-recipe" in text and "trained on ham10000, 7000 training images" in text
    assert "0.912" in text and "0.705" in text and "1500" in text
    assert result.intended_use in text


def test_warnings_come_first_with_severity_and_message(full):
    image, result = full
    html_text = render_report(image, result, WHEN)
    text = Page(html_text).plain
    flag = next(f for f in result.quality["flags"] if f["code"] == "lesion_touches_border")
    message = " ".join(flag["message"].split())
    assert f"warning: {message[0].upper()}{message[1:]}" in text
    assert "out-of-distribution score 3.25 is above the threshold 1.4 (mahalanobis)" in text
    assert "touches_border" in result.measurements["flags"]
    assert "the lesion touches the image's edge" not in text  # the quality flag already says it
    assert html_text.index('class="alert') < html_text.index("<img")


def test_a_measurement_flag_without_a_quality_flag_is_a_warning(plain):
    image, result = plain
    measurements = {**result.measurements, "flags": ["several_components"]}
    text = Page(render_report(image, result.model_copy(update={"measurements": measurements}), WHEN)).plain
    assert "Read first: 1 quality problem" in text
    assert "warning: Measurements: the outline has several parts, measured as one lesion." in text


def test_images_are_inline_pngs_of_the_image_and_its_overlays(full):
    image, result = full
    page = Page(render_report(image, result, WHEN))
    sources = [a["src"] for a in page.attrs("img")]
    assert len(sources) == 3
    original, outline, heat = (np.asarray(decode_png(s).convert("RGB")) for s in sources)
    assert original.shape == outline.shape == heat.shape == image.shape
    np.testing.assert_array_equal(original, image)
    changed = np.any(outline != image, axis=2)
    assert changed.any() and np.all(outline[changed] == (0, 255, 0))  # only the green outline is drawn
    assert np.any(heat[~changed] != image[~changed])  # the heat map is blended in
    # nothing outside the page: no script, stylesheet link or remote source
    assert not page.attrs("script") and not page.attrs("link")
    assert all(a.get("href") is None for _, a in page.tags)


def test_large_images_are_embedded_at_thumbnail_size():
    assert thumbnail_size(64, 64) == (64, 64)
    assert thumbnail_size(1200, 1600) == (384, 512)
    assert thumbnail_size(3000, 1000) == (512, 171)
    image, mask = lesion_image(300, 700, cx=0.5)
    cls = Classification(HAM, np.full(7, 1 / 7), "nv", 1 / 7, "argmax", heatmap=np.ones((300, 700)), heatmap_method="x")
    result = build_result(image, "big", None, mask, cls, MODELS)
    sizes = [decode_png(uri).size for uri in report_images(image, result)]
    assert sizes == [(512, 219)] * 3


def test_without_heatmap_or_malignant_classes_the_report_says_why(plain):
    image, result = plain
    page = Page(render_report(image, result, WHEN))
    text = page.plain
    assert len(page.attrs("img")) == 2
    assert "No heat map: this image was analysed without an explanation" in text
    assert "No malignant-vs-benign call: the classifier has none of mel, bcc, akiec." in text
    assert "Quality checks: no problem found." in text
    assert "No out-of-distribution detector was fitted" in text
    assert not [a for a in page.attrs("div") if "alert" in (a.get("class") or "")]
    assert "nv (melanocytic nevus), calibrated probability 60.0%" in text and "Rule argmax" in text


def test_a_default_threshold_is_reported_as_not_validated(full):
    image, result = full
    unvalidated = result.model_copy(
        update={
            "malignant": result.malignant.model_copy(
                update={"validation": None, "threshold": 0.5, "operating_point": DEFAULT_OPERATING_POINT}
            )
        }
    )
    text = Page(render_report(image, unvalidated, WHEN)).plain
    assert "The threshold is not validated" in text and "sensitivity 0.91" not in text


def test_user_text_is_escaped(plain):
    image, result = plain
    hostile = "<script>alert(1)</script>"
    result = result.model_copy(
        update={
            "image": result.image.model_copy(update={"id": hostile}),
            "patient": PatientInfo(age=40, sex="female", site='"><img src=x onerror=alert(2)>'),
        }
    )
    html_text = render_report(image, result, WHEN)
    assert hostile not in html_text and "&lt;script&gt;alert(1)&lt;/script&gt;" in html_text
    page = Page(html_text)
    assert not page.attrs("script")
    assert all("onerror" not in a for a in page.attrs("img")) and len(page.attrs("img")) == 2
    assert f"Dermoscopic image analysis: {hostile}" in page.plain
    assert 'site "><img src=x onerror=alert(2)>' in page.plain


def test_the_index_links_each_report_and_lists_failures():
    rows = [
        {"id": "ISIC 1#a", "decision": "mel", "confidence": "0.8000", "malignant_probability": "0.9100", "flags": ""},
        {"id": "<b>x</b>", "decision": "nv", "confidence": "0.6000", "malignant_probability": "", "flags": "a;b"},
        {"id": "broken", "decision": "", "confidence": "", "error": "broken.png: not an image <eof>"},
    ]
    page = Page(render_index(rows, generated=WHEN))
    assert [a["href"] for a in page.attrs("a")] == ["ISIC%201%23a.html", "%3Cb%3Ex%3C/b%3E.html"]
    text = page.plain
    assert "2 of 3 images analysed" in text and "mel (melanoma)" in text and "a, b" in text
    assert "1 could not be analysed" in text and "broken: broken.png: not an image <eof>" in text
    assert "<b>x</b>" in text  # shown as text, not markup


def test_the_report_module_imports_without_torch():
    code = (
        "import sys; sys.modules['torch'] = None\n"  # importing torch now fails
        "import dermkit.pipeline.report\n"
        "assert not [m for m in sys.modules if m.startswith('torch') and sys.modules[m] is not None]\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


@pytest.fixture
def predict_images(synthetic_root, tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for path in load_table(synthetic_root).records["image_path"].iloc[:2]:
        shutil.copy(path, folder)
    (folder / "empty.png").write_bytes(b"")
    return folder


def test_predict_writes_a_report_per_image_and_an_index(run_cli, seg_run, cls_run, predict_images, tmp_path):
    out = tmp_path / "out"
    result = run_cli("predict", "--seg", seg_run, "--cls", cls_run, predict_images, "--out", out, "--device", "cpu")
    assert result.code == 1 and "empty.png" in result.out
    stems = sorted(p.stem for p in predict_images.glob("*.jpg"))
    assert sorted(p.stem for p in out.glob("*.html") if p.name != "index.html") == stems
    for stem in stems:
        page = Page((out / f"{stem}.html").read_text())
        assert f"Dermoscopic image analysis: {stem}" in page.plain and len(page.attrs("img")) >= 2
    index = Page((out / "index.html").read_text())
    assert sorted(a["href"] for a in index.attrs("a")) == sorted(f"{s}.html" for s in stems)
    assert "1 could not be analysed" in index.plain and "empty.png" in index.plain
    # a report left from an earlier run is not overwritten without --overwrite
    for path in out.iterdir():
        if path.suffix != ".html" or path.name == "index.html":
            path.unlink()
    again = run_cli("predict", "--seg", seg_run, "--cls", cls_run, predict_images, "--out", out, "--device", "cpu")
    assert again.code == 2 and "already exist" in again.err
