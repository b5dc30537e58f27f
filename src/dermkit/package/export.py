"""``dermkit export``: a segmentation run and a classification run -> one portable model package.

The graphs are exported with ``torch.onnx`` (the dynamo exporter; the TorchScript exporter when
dynamo cannot take a model, recorded in the manifest) with a dynamic batch axis, then checked
against the PyTorch model on random input before anything is written. Everything the runtime
needs besides the graphs, preprocessing, normalisation, TTA, threshold, classes, metadata
encoding, calibration and decision rule, model identifiers, goes into ``manifest.json``
(:mod:`dermkit.package.format`).
"""

from __future__ import annotations

import datetime as _dt
import logging
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

from dermkit import __version__
from dermkit.data.metadata import AGE_SCALE, METADATA_DIM
from dermkit.data.records import SEXES, SITES
from dermkit.errors import ConfigError
from dermkit.inference import LoadedRun, load_run
from dermkit.models.contract import classify
from dermkit.models.export import ExportWrapper
from dermkit.models.features import classification_layer
from dermkit.ood import OOD_ARRAYS, OOD_JSON, load_ood
from dermkit.package.card import model_card, model_card_text
from dermkit.package.format import (
    MODEL_CARD,
    ClassifierSpec,
    FocusSpec,
    Manifest,
    MetadataEncoding,
    PackageError,
    SegmenterSpec,
    file_entry,
    write_package,
)
from dermkit.pipeline.analyze import model_info

log = logging.getLogger("dermkit.package")

#: Largest difference between the exported graph's and the PyTorch model's outputs on random input.
EXPORT_TOLERANCE = 1e-3
OPSET = 18


def input_size(run: LoadedRun) -> tuple[int, int]:
    """The fixed (height, width) the run's preprocessing resizes to; export needs one."""
    size = run.cfg.data.preprocess.size
    if size is None:
        raise ConfigError(
            f"{run.run_dir}: the recipe's data.preprocess.size is empty (images go in at their own size); a model "
            "package needs a fixed input size: retrain with data.preprocess.size=[H,W]"
        )
    return int(size[0]), int(size[1])


def _to_onnx_bytes(wrapper: ExportWrapper, example: tuple[torch.Tensor, ...]) -> tuple[bytes, str]:
    """The wrapper as ONNX bytes with a dynamic batch axis, and the exporter that made it."""
    names_in, names_out = list(wrapper.input_names), list(wrapper.output_names)
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        target = Path(tmp) / "graph.onnx"
        try:
            batch = torch.export.Dim("batch", min=1, max=4096)
            program = torch.onnx.export(
                wrapper,
                example,
                dynamo=True,
                input_names=names_in,
                output_names=names_out,
                dynamic_shapes=tuple({0: batch} for _ in example),
                opset_version=OPSET,
                verbose=False,
            )
            program.save(str(target), external_data=False)
            exporter = "dynamo"
        except Exception as exc:  # the dynamo exporter rejects some models; the TorchScript one takes them
            log.warning("the dynamo ONNX exporter failed (%s); using the TorchScript exporter", str(exc)[:200])
            torch.onnx.export(
                wrapper,
                example,
                str(target),
                dynamo=False,
                input_names=names_in,
                output_names=names_out,
                dynamic_axes={n: {0: "batch"} for n in (*names_in, *names_out)},
                opset_version=OPSET,
            )
            exporter = "torchscript"
        return target.read_bytes(), exporter


def _check_graph(data: bytes, wrapper: ExportWrapper, example: tuple[torch.Tensor, ...], what: str) -> None:
    """The graph must give the PyTorch model's outputs on a batch of another size (dynamic batch)."""
    import onnxruntime as ort

    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    generator = torch.Generator().manual_seed(0)
    inputs = tuple(torch.rand((3, *e.shape[1:]), generator=generator) for e in example)
    with torch.no_grad():
        expected = wrapper(*inputs)
    expected = expected if isinstance(expected, tuple) else (expected,)
    got = session.run(None, {n: x.numpy() for n, x in zip(wrapper.input_names, inputs, strict=True)})
    worst = max(float(np.abs(g - e.float().numpy()).max()) for g, e in zip(got, expected, strict=True))
    if not worst <= EXPORT_TOLERANCE:
        raise PackageError(
            f"the exported {what} graph differs from the PyTorch model by {worst:.2e} (> {EXPORT_TOLERANCE}); "
            "nothing was written. Report this with the model name"
        )


class ClassifierGraph(ExportWrapper):
    """A classifier's graph for the package: ``class_logits``, ``attention`` and ``features`` (the
    classification layer's input, which the out-of-distribution detector scores) from one pass."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__(model)
        self.layer = classification_layer(model)
        self.output_names = (*self.output_names, "features")

    def forward(self, image: torch.Tensor, meta: torch.Tensor | None = None):
        captured: list[torch.Tensor] = []
        handle = self.layer.register_forward_pre_hook(lambda _module, args: captured.append(args[0]))
        try:
            logits, attention = super().forward(image, meta)
        finally:
            handle.remove()
        return logits, attention, captured[0].reshape(captured[0].shape[0], -1)


def graph_wrapper(model: torch.nn.Module) -> ExportWrapper:
    """The export wrapper of a segmenter, or of a classifier with its features when it has a classification layer."""
    if ExportWrapper(model).task == "segmentation":
        return ExportWrapper(model)
    try:
        return ClassifierGraph(model)
    except TypeError:  # no plain classification layer: no features, so no OOD score in the package
        return ExportWrapper(model)


def export_graph(run: LoadedRun, what: str) -> tuple[bytes, str, ExportWrapper]:
    """One run's model as a checked ONNX graph: (bytes, exporter, the wrapper that defines its inputs)."""
    model = run.model.to("cpu").float().eval()
    wrapper = graph_wrapper(model).eval()
    h, w = input_size(run)
    example = tuple(t.to("cpu") for t in wrapper.example_inputs(h, w, batch=2))
    data, exporter = _to_onnx_bytes(wrapper, example)
    _check_graph(data, wrapper, example, what)
    return data, exporter, wrapper


def _common(run: LoadedRun, graph: str, exporter: str, wrapper: ExportWrapper) -> dict:
    return {
        "graph": graph,
        "input_names": list(wrapper.input_names),
        "output_names": list(wrapper.output_names),
        "preprocess": run.cfg.data.preprocess.model_dump(mode="json"),
        "mean": [float(v) for v in run.mean],
        "std": [float(v) for v in run.std],
        "tta": run.tta(),
        "exporter": exporter,
        "info": model_info(run),
    }


def segmenter_spec(run: LoadedRun, graph: str, members: dict[str, bytes]) -> SegmenterSpec:
    data, exporter, wrapper = export_graph(run, "segmenter")
    members[graph] = data
    inf = run.cfg.inference
    return SegmenterSpec(**_common(run, graph, exporter, wrapper), threshold=inf.threshold, postprocess=inf.postprocess)


def has_attention(run: LoadedRun) -> bool:
    """Whether the classifier returns its own attention map."""
    h, w = input_size(run)
    wrapper = ExportWrapper(run.model)
    example = wrapper.example_inputs(h, w, batch=1)
    with torch.no_grad():
        out = classify(run.model, example[0], example[1] if len(example) == 2 else None)
    return out.attention is not None


def classifier_spec(run: LoadedRun, focus: FocusSpec | None, members: dict[str, bytes]) -> ClassifierSpec:
    data, exporter, wrapper = export_graph(run, "classifier")
    members["classifier.onnx"] = data
    ood = None
    if "features" in wrapper.output_names and (run.run_dir / OOD_ARRAYS).exists():
        load_ood(run.run_dir)  # refuse a damaged detector here, not on a clinic's laptop
        members[OOD_ARRAYS] = (run.run_dir / OOD_ARRAYS).read_bytes()
        members[OOD_JSON] = (run.run_dir / OOD_JSON).read_bytes()
        ood = OOD_ARRAYS
    return ClassifierSpec(
        **_common(run, "classifier.onnx", exporter, wrapper),
        classes=list(run.classes),
        uses_metadata=len(wrapper.input_names) == 2,
        metadata=MetadataEncoding(dim=METADATA_DIM, age_scale=AGE_SCALE, sexes=list(SEXES), sites=list(SITES)),
        calibration=run.calibration().to_json(),
        focus=focus,
        attention=has_attention(run),
        ood=ood,
    )


def _same_run(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve()


def export_package(seg_run_dir: str | Path, cls_run_dir: str | Path, out: str | Path) -> Manifest:
    """Export the two runs (and the segmenter of a segment-then-classify classifier) into ``out``.

    Raises:
        DermkitError: a run folder is missing or of the wrong task, a recipe has no fixed input
            size, or an exported graph does not reproduce its model.
    """
    out = Path(out)
    seg = load_run(seg_run_dir, task="segmentation", device="cpu")
    cls = load_run(cls_run_dir, task="classification", device="cpu")
    members: dict[str, bytes] = {}
    seg_spec = segmenter_spec(seg, "segmenter.onnx", members)
    focus_cfg, focus_seg = cls.cfg.data.focus, None
    focus = None
    if focus_cfg.run is not None:
        if _same_run(Path(focus_cfg.run), seg.run_dir):
            focus = FocusSpec(segmenter="segmenter", mode=focus_cfg.mode, margin=focus_cfg.margin)
        else:
            focus_run = load_run(focus_cfg.run, task="segmentation", device="cpu")
            focus_seg = segmenter_spec(focus_run, "focus.onnx", members)
            focus = FocusSpec(segmenter="focus", mode=focus_cfg.mode, margin=focus_cfg.margin)
    cls_spec = classifier_spec(cls, focus, members)
    card = model_card(seg_spec.info, cls_spec.info, focus is not None)
    members[MODEL_CARD] = model_card_text(card, seg_spec.info, cls_spec.info).encode()
    manifest = Manifest(
        created=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        dermkit_version=__version__,
        files={name: file_entry(data) for name, data in members.items()},
        segmenter=seg_spec,
        classifier=cls_spec,
        focus_segmenter=focus_seg,
        model_card=card,
    )
    write_package(out, manifest, members)
    return manifest
