"""`dermkit export` and `dermkit predict --model`: the package runs where torch cannot be imported,
and a changed package is refused before any image is read."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from dermkit.data.readers import load_table
from dermkit.package.format import MANIFEST, read_package, sha256_bytes
from dermkit.pipeline import AnalysisResult

#: Run in a fresh interpreter where importing torch (or anything built on it) fails.
WITHOUT_TORCH = """
import sys

BLOCKED = {"torch", "torchvision", "timm", "segmentation_models_pytorch", "pytorch_grad_cam", "albumentations"}


class NotInstalled:  # as if these packages were not installed: `import torch` raises ImportError
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}")


sys.meta_path.insert(0, NotInstalled())
from dermkit.cli import run_app

code = run_app(sys.argv[1:])
assert not BLOCKED & set(sys.modules), "a blocked package was imported"
sys.exit(code)
"""


@pytest.fixture(scope="module")
def image_dir(synthetic_root, tmp_path_factory):
    folder = tmp_path_factory.mktemp("images")
    for path in load_table(synthetic_root).records["image_path"].iloc[:2]:
        shutil.copy(path, folder)
    return folder


def rewrite(src, dst, change):
    """Copy a package, passing (name, bytes) of every member through ``change`` (None drops it)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = change(info.filename, zin.read(info.filename))
            if data is not None:
                zout.writestr(info.filename, data)
    return dst


def test_export_writes_a_package_and_prints_its_checksum(run_cli, seg_run, cls_run, tmp_path):
    out = tmp_path / "m.dermkit"
    result = run_cli("export", "--seg", seg_run, "--cls", cls_run, "--out", out)
    assert result.code == 0, result.err
    assert sha256_bytes(out.read_bytes()) in result.out and "predict --model" in result.out
    read_package(out)
    again = run_cli("export", "--seg", seg_run, "--cls", cls_run, "--out", out)
    assert again.code == 2 and "--overwrite" in again.err
    assert run_cli("export", "--seg", seg_run, "--cls", cls_run, "--out", tmp_path / "m.zip").code == 2
    swapped = run_cli("export", "--seg", cls_run, "--cls", seg_run, "--out", tmp_path / "x.dermkit")
    assert swapped.code == 2 and "segmentation run is needed" in swapped.err


def test_predict_with_a_package_runs_where_torch_cannot_be_imported(package, image_dir, tmp_path):
    out = tmp_path / "out"
    args = ["predict", "--model", str(package), str(image_dir), "--out", str(out)]
    proc = subprocess.run([sys.executable, "-c", WITHOUT_TORCH, *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    stems = sorted(p.stem for p in image_dir.glob("*.jpg"))
    assert sorted(p.stem for p in out.glob("*.json")) == stems
    for stem in stems:
        result = AnalysisResult.model_validate_json((out / f"{stem}.json").read_text())
        assert result.models.backend == "onnxruntime" and result.heatmap.method == "occlusion"
        assert (out / f"{stem}_overlay.png").stat().st_size and (out / f"{stem}.html").stat().st_size
    assert (out / "summary.csv").exists() and (out / "index.html").exists()


def test_the_torch_path_itself_needs_torch(seg_run, cls_run, image_dir, tmp_path):
    args = ["predict", "--seg", str(seg_run), "--cls", str(cls_run), str(image_dir), "--out", str(tmp_path / "o")]
    proc = subprocess.run([sys.executable, "-c", WITHOUT_TORCH, *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0  # the blocker works: the test above would catch a torch import


def _flip_one_byte(name, data):
    return data[:100] + bytes([data[100] ^ 1]) + data[101:] if name == "classifier.onnx" else data


def _external_data_graph() -> bytes:
    tensor = helper.make_tensor("w", TensorProto.FLOAT, [1], [0.0])
    tensor.data_location = TensorProto.EXTERNAL
    tensor.ClearField("float_data")
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", "../../etc/passwd"
    graph = helper.make_graph(
        [helper.make_node("Add", ["image", "w"], ["class_logits"])],
        "g",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("class_logits", TensorProto.FLOAT, [1])],
        initializer=[tensor],
    )
    return helper.make_model(graph).SerializeToString()


def _with_manifest(change_manifest, change_members=lambda name, data: data):
    def change(name, data):
        if name == MANIFEST:
            return json.dumps(change_manifest(json.loads(data))).encode()
        return change_members(name, data)

    return change


def _external(name, data):
    return _external_data_graph() if name == "classifier.onnx" else data


def _relist(manifest):
    graph = _external_data_graph()
    manifest["files"]["classifier.onnx"] = {"sha256": sha256_bytes(graph), "bytes": len(graph)}
    return manifest


CHANGES = {
    "checksum mismatch for classifier.onnx": _flip_one_byte,
    "member segmenter.onnx is missing": lambda name, data: None if name == "segmenter.onnx" else data,
    "not listed in the manifest": lambda name, data: data,  # plus an extra member, below
    "package format version 2": _with_manifest(lambda m: {**m, "format_version": 2}),
    "not a valid manifest": _with_manifest(lambda m: {**m, "classifier": {}}),
    "refers to external data files": _with_manifest(_relist, _external),
}


@pytest.mark.parametrize("reason", list(CHANGES))
def test_a_changed_package_is_refused_before_any_image_is_read(run_cli, package, image_dir, tmp_path, reason):
    bad = rewrite(package, tmp_path / "bad.dermkit", CHANGES[reason])
    if reason == "not listed in the manifest":
        with zipfile.ZipFile(bad, "a") as zf:
            zf.writestr("extra.py", "print('hello')")
    out = tmp_path / "out"
    result = run_cli("predict", "--model", bad, image_dir, "--out", out)
    assert result.code == 2 and reason in result.err and "traceback" not in result.err.lower()
    assert not out.exists() or not any(out.iterdir())


def test_a_file_that_is_not_a_package_is_refused(run_cli, image_dir, tmp_path):
    fake = tmp_path / "fake.dermkit"
    fake.write_text("hello")
    result = run_cli("predict", "--model", fake, image_dir, "--out", tmp_path / "o")
    assert result.code == 2 and "not a zip archive" in result.err
    missing = run_cli("predict", "--model", tmp_path / "none.dermkit", image_dir, "--out", tmp_path / "o")
    assert missing.code == 2 and "no such model package" in missing.err


def test_model_and_runs_are_exclusive(run_cli, package, seg_run, cls_run, image_dir, tmp_path):
    both = run_cli("predict", "--model", package, "--seg", seg_run, "--cls", cls_run, image_dir, "--out", tmp_path)
    assert both.code == 2 and "not both" in both.err
    neither = run_cli("predict", image_dir, "--out", tmp_path / "o")
    assert neither.code == 2 and "--model PACKAGE" in neither.err


def test_the_blocked_graph_is_really_an_external_data_graph():
    model = onnx.load_from_string(_external_data_graph())
    assert model.graph.initializer[0].data_location == TensorProto.EXTERNAL
    assert np.asarray(list(model.graph.initializer[0].float_data)).size == 0


def test_heat_map_and_tta_options(run_cli, package, seg_run, cls_run, image_dir, tmp_path):
    out = tmp_path / "none"
    assert run_cli("predict", "--model", package, image_dir, "--out", out, "--heatmap", "none", "--no-tta").code == 0
    assert all(AnalysisResult.model_validate_json(p.read_text()).heatmap is None for p in out.glob("*.json"))
    bad = run_cli("predict", "--model", package, image_dir, "--out", tmp_path / "b", "--heatmap", "attention")
    assert bad.code == 2 and "choose one of auto, none, occlusion" in bad.err
    torch_bad = run_cli(
        "predict", "--seg", seg_run, "--cls", cls_run, image_dir, "--out", tmp_path / "c", "--heatmap", "x"
    )
    assert torch_bad.code == 2 and "gradcam++" in torch_bad.err
