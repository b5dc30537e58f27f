"""The REST API through FastAPI's TestClient: answers, the model description, probes, headers."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from dermkit.imageio import read_image
from dermkit.pipeline import AnalysisResult, make_metadata
from dermkit.pipeline.report import warning_items


def png_of(data_uri: str) -> np.ndarray:
    assert data_uri.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data_uri.split(",", 1)[1]))))


def test_analyze_answers_the_pipelines_result_with_layers_and_a_report(make_client, analyzer, lesion_image):
    client = make_client()
    data = lesion_image.read_bytes()
    response = client.post(
        "/api/v1/analyze",
        files={"image": (lesion_image.name, data, "image/jpeg")},
        data={"age": "55", "sex": "female", "site": "back"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    result = AnalysisResult.model_validate(body["result"])  # the published schema's model, strict
    assert result.image.id == lesion_image.stem
    assert result.patient is not None and (result.patient.age, result.patient.sex, result.patient.site) == (
        55,
        "female",
        "back",
    )
    # the same pipeline, not a second one: the analyzer's own answer on the same pixels
    meta = make_metadata(lesion_image.stem, "55", "female", "back")
    direct = analyzer.analyze(read_image(lesion_image), meta, lesion_image.stem)
    assert result.probabilities == pytest.approx(direct.probabilities, abs=1e-6)
    assert result.lesion == direct.lesion
    assert result.decision == direct.decision
    images = body["images"]
    outline, heat, overlay = png_of(images["outline"]), png_of(images["heatmap"]), png_of(images["overlay"])
    assert outline.shape == (64, 64, 4) and heat.shape == (64, 64, 4) and overlay.shape == (64, 64, 3)
    assert (outline[..., 3] > 0).any() == (result.lesion.area_px > 0)
    assert set(np.unique(outline[..., 3])) <= {0, 255}
    assert body["warnings"] == [{"severity": s, "message": m} for s, m in warning_items(result)]
    assert len(body["warnings"]) >= len(result.quality.get("flags", []))
    report = client.get(body["report_url"])
    assert report.status_code == 200
    assert report.headers["content-type"].startswith("text/html")
    assert report.headers["content-disposition"] == f'attachment; filename="{lesion_image.stem}_report.html"'
    assert "script-src" not in report.headers["content-security-policy"]  # default-src 'none': no script at all
    assert lesion_image.stem in report.text and "<script" not in report.text
    assert body["timing_ms"]["analysis"] > 0


def test_images_can_be_left_out_and_reports_not_kept(make_client, lesion_image):
    client = make_client(report_ttl_s=0)
    body = client.post(
        "/api/v1/analyze?images=false", files={"image": ("a.jpg", lesion_image.read_bytes(), "image/jpeg")}
    ).json()
    assert body["images"] is None and body["report_url"] is None
    assert body["result"]["image"]["id"] == "a"


def test_large_images_come_back_as_layers_of_at_most_1024_pixels(make_client, analyzer):
    image = np.asarray(Image.fromarray(read_image_fixture()).resize((1400, 700)))
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG")
    body = make_client().post("/api/v1/analyze", files={"image": ("big.jpg", buffer.getvalue(), "image/jpeg")}).json()
    assert (body["result"]["image"]["width"], body["result"]["image"]["height"]) == (1400, 700)
    assert (body["images"]["width"], body["images"]["height"]) == (1024, 512)
    assert png_of(body["images"]["outline"]).shape == (512, 1024, 4)


def read_image_fixture() -> np.ndarray:
    yy, xx = np.mgrid[0:64, 0:64]
    disc = (yy - 32) ** 2 + (xx - 32) ** 2 < 18**2
    image = np.full((64, 64, 3), (205, 160, 140), np.uint8)
    image[disc] = (90, 55, 40)
    return image


def test_model_describes_the_package(make_client, analyzer, package):
    body = make_client().get("/api/v1/model").json()
    manifest = analyzer.manifest
    assert body["backend"] == "onnxruntime" and body["source"] == package.name
    assert body["classes"] == manifest.classifier.classes
    assert body["input_sizes"]["classifier"] == list(manifest.classifier.preprocess["size"])
    assert body["input_sizes"]["segmenter"] == list(manifest.segmenter.preprocess["size"])
    assert body["checksums"] == {name: entry.sha256 for name, entry in manifest.files.items()}
    assert body["validated_metrics"]["cls"] == analyzer.models.cls.validated_metrics
    assert body["validated_metrics"]["seg"] == analyzer.models.seg.validated_metrics
    assert body["model_card"] == manifest.model_card.model_dump()
    assert body["versions"]["package_dermkit"] == manifest.dermkit_version
    assert "female" in body["metadata_fields"]["sex"] and "back" in body["metadata_fields"]["site"]


def test_model_describes_two_pytorch_runs(make_client, seg_run, cls_run):
    from dermkit.pipeline import Analyzer

    runs = Analyzer(seg_run, cls_run, device="cpu")
    body = make_client(runs).get("/api/v1/model").json()
    assert body["backend"] == "torch"
    assert body["classes"] == runs.cls.classes
    assert body["input_sizes"] == {"segmenter": [32, 32], "classifier": [32, 32]}
    assert body["checksums"] == {"segmenter": runs.models.seg.checksum, "classifier": runs.models.cls.checksum}
    assert body["model_card"]["evaluation"]["classifier"] == runs.models.cls.validated_metrics


def test_probes_and_documentation(make_client):
    client = make_client()
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready" and ready.json()["capacity"] == 5
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/static/docs.js" in docs.text
    spec = client.get("/openapi.json").json()
    analyze = spec["paths"]["/api/v1/analyze"]["post"]
    form = analyze["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert form["required"] == ["image"] and set(form["properties"]) == {"image", "age", "sex", "site"}
    assert {"400", "401", "413", "415", "422", "429"} <= set(analyze["responses"])
    assert "/api/v1/model" in spec["paths"] and "/healthz" in spec["paths"]


def test_page_and_responses_carry_the_security_headers(make_client):
    client = make_client()
    for path in ("/", "/docs", "/static/app.js", "/healthz", "/api/v1/model", "/no-such-page"):
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert len(headers["x-request-id"]) == 12


@pytest.mark.parametrize("page", ["index.html", "docs.html"])
def test_pages_have_no_inline_script_or_style(page):
    from html.parser import HTMLParser

    from dermkit.serve.app import STATIC

    found = []

    class Check(HTMLParser):
        def handle_starttag(self, tag, attrs):
            names = dict(attrs)
            if tag == "script" and not names.get("src"):
                found.append("inline <script>")
            if tag == "style" or "style" in names:
                found.append(f"inline style on <{tag}>")
            found.extend(f"{name} handler on <{tag}>" for name in names if name.startswith("on"))

    Check().feed((STATIC / page).read_text())
    assert found == []


def test_cors_is_off_unless_an_origin_is_given(make_client):
    preflight = {"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "POST"}
    off = make_client()
    assert "access-control-allow-origin" not in off.options("/api/v1/analyze", headers=preflight).headers
    assert (
        "access-control-allow-origin" not in off.get("/api/v1/model", headers={"Origin": preflight["Origin"]}).headers
    )
    on = make_client(cors_origins=("https://elsewhere.example",))
    allowed = on.get("/api/v1/model", headers={"Origin": preflight["Origin"]})
    assert allowed.headers["access-control-allow-origin"] == "https://elsewhere.example"
    other = on.get("/api/v1/model", headers={"Origin": "https://attacker.example"})
    assert "access-control-allow-origin" not in other.headers


def test_the_log_has_ids_and_timings_but_no_patient_data(make_client, lesion_image, caplog):
    client = make_client()
    with caplog.at_level("DEBUG"):
        response = client.post(
            "/api/v1/analyze",
            files={"image": ("Quuxley-Zebediah-19520317.jpg", lesion_image.read_bytes(), "image/jpeg")},
            data={"age": "83.25", "sex": "male", "site": "palms/soles"},
        )
        bad = client.post(
            "/api/v1/analyze",
            files={"image": ("Quuxley-Zebediah-2.jpg", b"not an image", "image/jpeg")},
            data={"age": "83.25"},
        )
    assert response.status_code == 200 and bad.status_code == 400
    logged = "\n".join(r.getMessage() for r in caplog.records) + json.dumps(
        [r.args for r in caplog.records], default=str
    )
    assert response.json()["request_id"] in logged and "ms=" in logged
    for secret in ("Quuxley", "Zebediah", "19520317", "83.25", "palms"):
        assert secret not in logged
