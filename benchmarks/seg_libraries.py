"""Our segmenters against MONAI's and smp's, trained alike through dermkit's engine. Usage::

    python benchmarks/seg_libraries.py [--quick] [--synthetic] [--models KEY,KEY] [--protocol RECIPE]
        [--out DIR] [key=value ...]

Every model is trained by dermkit's Trainer (what ``dermkit.engine.trainer.fit`` runs) with one recipe's
protocol (default ``seg_default``: 128x160 input, BCE+Dice, AdamW + cosine, its augmentation, flip TTA and
largest-lesion post-processing at inference); only ``model.name`` and ``model.kwargs`` change. So data,
lesion-grouped split, augmentation, loss, optimiser, epochs, the batches seen (same seed: the same images
in the same order) and evaluation are identical. The S1-S3 recipes contribute their model, not their own
training schedule, preprocessing or loss.

MONAI's ``AttentionUnet`` and ``UNet`` and smp's ``DeepLabV3Plus`` on a plain ResNet encoder are registered
as dermkit models here (behind :class:`~dermkit.models.outputs.SegmentationOutput`), never in the package:
MONAI is a benchmark-only extra (``pip install 'dermkit[bench]'``). smp's ``Unet`` is dermkit's own
``smp_unet`` entry with a random-init ``tu-resnet10t``. Widths are chosen so parameter counts are near
ours (see :data:`CONTESTANTS`).

Scores: Dice, Jaccard and thresholded Jaccard on the 20 shared PH2 cases (ISIC rules, original size) with
95% bootstrap intervals over cases, Dice on the HAM10000 test side (model resolution), training seconds
per epoch (optimiser steps with data loading, no validation), parameters. Writes one run folder per model
and ``results.json`` under ``--out`` (default ``runs/bench-seg-libraries``) and prints a Markdown table.
A model whose folder already holds a finished result is reused (an interrupted run continues).

``--quick`` trains two models (S2 U-Net, MONAI UNet) for 2 epochs of 3 batches of 8, validated and tested on
30 lesions each, on the shared HAM10000 images if present (else, or with ``--synthetic``, on 120 synthetic
ones): under a minute on one thread. Its folder ``runs/bench-seg-libraries/quick`` is cleared first.

The full run (all eight models, :data:`FULL`: 2 epochs of 40 batches of 16) is sized for about 20 minutes (19-23)
with ``OMP_NUM_THREADS=2`` on 2 cores; the two attention U-Nets take about half of it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from dermkit.bench import BenchTable
from dermkit.config import RunConfig, dump_config, load_config
from dermkit.engine.trainer import Trainer
from dermkit.errors import ConfigError
from dermkit.models.outputs import SegmentationOutput, check_image_batch, display_name
from dermkit.models.registry import MODELS, register_model
from dermkit.models.segmentation.encoder_decoders import EncoderDecoder, build_encoder_decoder

from _common import ROOT, SHARED

# --- MONAI and smp networks as dermkit models ------------------------------------------------------------


class MonaiSegmenter(nn.Module):
    """A MONAI 2-D network (one output channel) behind dermkit's model contract.

    Attributes:
        net: the MONAI network, ``(B, C, H, W) -> (B, 1, H, W)`` logits.
        in_channels: input channels (1 or 3).
        input_stride: H and W must be multiples of it (the product of the network's strides).
        pretrained_cfg: ``None``: MONAI's 2-D networks have no ImageNet weights.
    """

    pretrained_cfg = None

    def __init__(self, net: nn.Module, in_channels: int, input_stride: int) -> None:
        super().__init__()
        self.net = net
        self.in_channels = in_channels
        self.input_stride = input_stride

    def forward(self, x: Tensor) -> SegmentationOutput:
        check_image_batch(x, self.in_channels, self.input_stride, display_name(self))
        return SegmentationOutput(mask_logits=self.net(x))  # (B, 1, H, W)


def _monai_nets():
    """``monai.networks.nets``, or a ConfigError saying how to install MONAI (a benchmark-only extra)."""
    try:
        from monai.networks import nets
    except ImportError:
        raise ConfigError(
            "the MONAI models need monai, a benchmark-only extra: pip install 'dermkit[bench]' (or pip install monai)"
        ) from None
    return nets


def _strides(channels: list[int] | tuple[int, ...]) -> tuple[int, ...]:
    if len(channels) < 2:
        raise ConfigError(f"channels must list 2 or more widths (one per level); got {list(channels)}")
    return (2,) * (len(channels) - 1)


def monai_attention_unet(
    in_channels: int = 3, channels: tuple[int, ...] = (32, 64, 128, 256, 512), dropout: float = 0.0
) -> MonaiSegmenter:
    """MONAI AttentionUnet (Oktay et al. 2018; 1x1 gate convs, batch norm), stride 2 per level, random init."""
    strides = _strides(channels)
    net = _monai_nets().AttentionUnet(
        spatial_dims=2,
        in_channels=in_channels,
        out_channels=1,
        channels=tuple(channels),
        strides=strides,
        dropout=dropout,
    )
    return MonaiSegmenter(net, in_channels, 2 ** len(strides))


def monai_unet(
    in_channels: int = 3, channels: tuple[int, ...] = (16, 32, 64, 128, 256), num_res_units: int = 2
) -> MonaiSegmenter:
    """MONAI UNet (residual units, instance norm, PReLU: MONAI's defaults), stride 2 per level, random init."""
    strides = _strides(channels)
    net = _monai_nets().UNet(
        spatial_dims=2,
        in_channels=in_channels,
        out_channels=1,
        channels=tuple(channels),
        strides=strides,
        num_res_units=num_res_units,
    )
    return MonaiSegmenter(net, in_channels, 2 ** len(strides))


def smp_deeplabv3plus(encoder: str = "tu-resnet10t", pretrained: bool = False, **kwargs: Any) -> EncoderDecoder:
    """smp DeepLabV3+ (output stride 16, ASPP rates 6, 12, 18) on any timm encoder; random init by default."""
    kwargs.setdefault("decoder_atrous_rates", (6, 12, 18))  # the stride-16 rates, as dermkit's own DeepLabV3+
    return build_encoder_decoder("deeplabv3plus", encoder, pretrained=pretrained, **kwargs)


#: The entry functions this benchmark registers (only here: the package never depends on MONAI).
LIBRARY_MODELS = {
    "monai_attention_unet": monai_attention_unet,
    "monai_unet": monai_unet,
    "smp_deeplabv3plus": smp_deeplabv3plus,
}


def register_library_models() -> None:
    """Register :data:`LIBRARY_MODELS` in dermkit's model registry (once: a second call changes nothing)."""
    for name, entry in LIBRARY_MODELS.items():
        if name not in MODELS:
            register_model(name, task="segmentation", default_cfg={"benchmark": "seg_libraries"})(entry)


register_library_models()

# --- the contestants -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Contestant:
    """One model of the comparison: ``recipe`` (ours: the model section of a dermkit recipe) or ``model``."""

    label: str
    source: str  # "dermkit", "MONAI" or "smp"
    note: str  # widths and initialisation, for the table
    recipe: str | None = None
    model: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)

    def model_section(self) -> tuple[str, dict[str, Any]]:
        """(registry name, kwargs): the recipe's model section for ours, else the declared one."""
        if self.recipe is not None:
            model = load_config(self.recipe).model
            return model.name, dict(model.kwargs)
        return str(self.model), dict(self.kwargs)


#: key -> contestant. Widths: MONAI AttentionUnet takes S1's widths (32-512), MONAI UNet S2's (16-256);
#: smp's models use timm's ResNet-10-T (4.9 M, the smallest plain ResNet) with seg_default's slim U-Net
#: decoder, and a 128-channel DeepLabV3+ head, to land between S3 (5.0 M) and S1 (10.2 M).
CONTESTANTS: dict[str, Contestant] = {
    "s1": Contestant("S1 attention U-Net", "dermkit", "32-512, 3x3 gate convs, random init", "seg_s1_attention_unet"),
    "s2": Contestant("S2 U-Net", "dermkit", "16-256, random init", "seg_s2_unet"),
    "s3": Contestant("S3 dsconv-ASPP", "dermkit", "separable convs + ASPP, random init", "seg_s3_dsconv_aspp"),
    "default": Contestant(
        "seg_default", "dermkit", "smp U-Net on EfficientNet-Lite0, ImageNet encoder, decoder 128-16", "seg_default"
    ),
    "monai_attention_unet": Contestant(
        "MONAI AttentionUnet",
        "MONAI",
        "32-512 (S1's widths), random init",
        model="monai_attention_unet",
        kwargs={"channels": [32, 64, 128, 256, 512]},
    ),
    "monai_unet": Contestant(
        "MONAI UNet",
        "MONAI",
        "16-256 (S2's widths), 2 residual units, random init",
        model="monai_unet",
        kwargs={"channels": [16, 32, 64, 128, 256], "num_res_units": 2},
    ),
    "smp_unet": Contestant(
        "smp Unet",
        "smp",
        "ResNet-10-T encoder, decoder 128-16, random init",
        model="smp_unet",
        kwargs={"encoder": "tu-resnet10t", "pretrained": False, "decoder_channels": [128, 64, 32, 16, 16]},
    ),
    "smp_deeplabv3plus": Contestant(
        "smp DeepLabV3Plus",
        "smp",
        "ResNet-10-T encoder, 128-channel ASPP decoder, random init",
        model="smp_deeplabv3plus",
        kwargs={"encoder": "tu-resnet10t", "decoder_channels": 128},
    ),
}
QUICK_MODELS = ("s2", "monai_unet")

# --- the budget ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Budget:
    """What every model gets: epochs of at most ``batches`` batches of ``batch_size`` images, and the split.

    The split is made once (lesion-grouped, stratified, seed 0) with ``val`` and ``test`` fractions, then,
    with ``held_out_lesions``, its val and test sides are thinned to that many lesions each (the other images
    of those sides are left out): small sides straight from the splitter would take it minutes (it makes
    1/fraction folds).
    """

    epochs: int
    batches: int
    batch_size: int
    val: float  # validation fraction (checkpoint selection after every epoch)
    test: float  # test fraction
    held_out_lesions: int | None = None

    def overrides(self) -> list[str]:
        return [
            f"train.epochs={self.epochs}",
            f"train.max_batches_per_epoch={self.batches}",
            f"train.batch_size={self.batch_size}",
        ]

    def split(self, table) -> pd.DataFrame:
        """The split every model trains and is tested on."""
        from dermkit.data.splits import split_table

        split = split_table(table, val=self.val, test=self.test, seed=0)
        return split if self.held_out_lesions is None else thin_sides(split, self.held_out_lesions)


def thin_sides(split: pd.DataFrame, lesions: int, seed: int = 0) -> pd.DataFrame:
    """``split`` with its val and test sides cut to ``lesions`` randomly drawn lesions each (all their images)."""
    rng = np.random.default_rng(seed)
    drop = np.zeros(len(split), dtype=bool)
    for side in ("val", "test"):
        on_side = (split["split"] == side).to_numpy()
        ids = np.unique(split.loc[on_side, "lesion_id"].astype(str))
        keep = rng.choice(ids, size=min(lesions, len(ids)), replace=False)
        drop |= on_side & ~split["lesion_id"].astype(str).isin(keep).to_numpy()
    return split.loc[~drop].reset_index(drop=True)


#: Full: 2 epochs of 40 batches of 16 (1,280 training images per model); val and test sides 3% and 5% of the
#: lesions (about 250 and 430 HAM10000 images) keep the attention U-Nets' evaluation passes affordable.
FULL = Budget(epochs=2, batches=40, batch_size=16, val=0.03, test=0.05)
#: Quick: 2 epochs of 3 batches of 8; val and test sides of 30 lesions each.
QUICK = Budget(epochs=2, batches=3, batch_size=8, val=0.1, test=0.1, held_out_lesions=30)
#: Every run: no preprocessing cache (a cache one model filled would speed up the next one's first epoch).
COMMON_OVERRIDES = ("data.cache_dir=null", "train.checkpoint_every=0")
SYNTHETIC_IMAGES = 120


def run_config(protocol: str, key: str, contestant: Contestant, overrides: list[str]) -> RunConfig:
    """The protocol recipe with ``contestant``'s model; ``overrides`` (data, budget, the user's) applied."""
    name, kwargs = contestant.model_section()
    model = [f"model.name={name}", f"model.kwargs={json.dumps(kwargs)}"]  # JSON is YAML: replaces the kwargs
    return load_config(protocol, [*COMMON_OVERRIDES, f"recipe=seg_libraries-{key}", *model, *overrides])


# --- training and scoring --------------------------------------------------------------------------------


class TimedTrainer(Trainer):
    """dermkit's Trainer with each epoch's optimiser steps timed (data loading included, validation not)."""

    def __init__(self, cfg: RunConfig, run_dir: Path) -> None:
        super().__init__(cfg, run_dir, progress=False)
        self.train_seconds: list[float] = []
        self.train_images: list[int] = []

    def _train_batches(self, batches: list[list[int]], bar) -> None:
        self.train_images.append(sum(len(b) for b in batches[self.state.batch :]))
        start = time.perf_counter()
        super()._train_batches(batches, bar)
        self.train_seconds.append(time.perf_counter() - start)


def parameter_count(model: nn.Module) -> int:
    """Trainable and frozen parameters of ``model``."""
    return sum(p.numel() for p in model.parameters())


PH2_METRICS = ("dice", "jaccard", "threshold_jaccard")


def score_ph2(run_dir: Path, ph2_table) -> dict[str, Any]:
    """PH2 scores of the run's best checkpoint (its recipe's TTA and post-processing), with 95% intervals."""
    from dermkit.evaluation.segmentation import evaluate_segmentation
    from dermkit.inference import load_run

    start = time.perf_counter()
    out = run_dir / "eval-PH2"
    metrics = evaluate_segmentation(load_run(run_dir, device="cpu"), ph2_table, out, progress=False, n_boot=2000)
    scores: dict[str, Any] = {"cases": metrics["images"], "seconds": round(time.perf_counter() - start, 1)}
    for metric in PH2_METRICS:  # the intervals resample cases: every PH2 case is its own lesion
        scores[metric] = {"mean": metrics[metric], "ci95": metrics["ci95"][metric]}
    return scores


def train_and_score(key: str, cfg: RunConfig, run_dir: Path, ph2_table) -> dict[str, Any]:
    """Train ``cfg`` into ``run_dir``, score it, and record the result in ``run_dir/bench_result.json``."""
    start = time.perf_counter()
    trainer = TimedTrainer(cfg, run_dir)
    final = trainer.fit()
    fit_seconds = time.perf_counter() - start
    history = trainer.state.history
    result = {
        "key": key,
        "model": cfg.model.name,
        "kwargs": cfg.model.kwargs,
        "parameters": parameter_count(trainer.model),
        "train_images_per_epoch": trainer.train_images,
        "train_seconds_per_epoch": [round(s, 2) for s in trainer.train_seconds],
        "epoch_seconds_with_validation": [row["seconds"] for row in history],
        "fit_minutes": round(fit_seconds / 60, 2),
        "best_epoch": final["best_epoch"],
        "val_dice": final.get("val", {}).get("dice"),
        "val_images": final.get("val", {}).get("images", 0),
        "test": {k: final["test"][k] for k in ("dice", "jaccard", "images")} if "test" in final else None,
        "ph2": score_ph2(run_dir, ph2_table) if ph2_table is not None else None,
    }
    (run_dir / "bench_result.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def result_for(key: str, cfg: RunConfig, run_dir: Path, ph2_table) -> dict[str, Any]:
    """A finished result in ``run_dir`` (reused), else a fresh one; a half-done folder is refused."""
    saved = run_dir / "bench_result.json"
    if saved.is_file():
        if (run_dir / "config.yaml").read_text() != dump_config(cfg):
            raise SystemExit(f"{run_dir} was trained with another config: remove it, or give another --out")
        print(f"{key}: reusing {saved}", flush=True)
        return json.loads(saved.read_text())
    if run_dir.exists():
        raise SystemExit(f"{run_dir} holds an unfinished run of {key}: remove it, then run the benchmark again")
    print(f"{key}: training {cfg.model.name} into {run_dir}", flush=True)
    return train_and_score(key, cfg, run_dir, ph2_table)


# --- the table -------------------------------------------------------------------------------------------


def _with_ci(score: dict[str, Any] | None) -> str:
    if score is None:
        return "-"
    low, high = score["ci95"]
    return f"{score['mean']:.3f} [{low:.3f}, {high:.3f}]"


def table_row(contestant: Contestant, result: dict[str, Any], test_side: str) -> dict[str, Any]:
    """One Markdown table row of a model's result; ``test_side`` names the test column (e.g. "HAM test")."""
    ph2 = result["ph2"] or {}
    test = result["test"]
    return {
        "model": contestant.label,
        "source": contestant.source,
        "registry name": f"`{result['model']}`",
        "widths, init": contestant.note,
        "params (M)": f"{result['parameters'] / 1e6:.2f}",
        "train s/epoch": f"{statistics.median(result['train_seconds_per_epoch']):.1f}",
        f"{test_side} Dice": "-" if test is None else f"{test['dice']:.3f}",
        "PH2 Dice [95% CI]": _with_ci(ph2.get("dice")),
        "PH2 Jaccard [95% CI]": _with_ci(ph2.get("jaccard")),
        "PH2 thr. Jaccard [95% CI]": _with_ci(ph2.get("threshold_jaccard")),
    }


def results_table(rows: list[tuple[Contestant, dict[str, Any]]], meta: dict[str, Any]) -> BenchTable:
    """The comparison table, with notes saying how every figure was made."""
    budget, first = meta["budget"], rows[0][1]
    test_images = first["test"]["images"] if first["test"] else 0
    notes = [
        f"protocol: recipe `{meta['protocol']}` for every model (input {meta['input_size']}, loss `{meta['loss']}`, "
        f"its optimiser, schedule and augmentation, TTA {meta['tta']}, post-processing {meta['postprocess']}); "
        "only the model changes",
        f"budget: {budget['epochs']} epochs of {budget['batches']} batches of {budget['batch_size']} "
        f"({first['train_images_per_epoch']} training images per epoch), the same batches for every model",
        f"data: {meta['data']}; one lesion-grouped split for all ({first['val_images']} validation images, the "
        f"checkpoint chosen on their Dice; {test_images} test images, Dice at model resolution); PH2: {meta['ph2']}, "
        "scored at original size with the ISIC rules",
        f"train s/epoch: median over epochs of the optimiser steps with data loading; torch threads "
        f"{meta['threads']}, data workers {meta['workers']}; whole run {meta['total_minutes']:.1f} min",
        "95% intervals: percentile bootstrap over the PH2 cases (2,000 resamples)",
        f"versions: MONAI {meta['monai']}, smp {meta['smp']}",
    ]
    rows_md = [table_row(c, r, meta["test_side"]) for c, r in rows]
    return BenchTable("Segmenters: dermkit vs MONAI vs smp, same data and budget", rows_md, notes)


# --- the command line ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"models {', '.join(QUICK_MODELS)}, a few batches")
    parser.add_argument("--synthetic", action="store_true", help="train on synthetic images even if HAM10000 is here")
    parser.add_argument("--models", default=None, help=f"comma-separated keys of {', '.join(CONTESTANTS)}")
    parser.add_argument("--protocol", default="seg_default", help="recipe whose training and inference all models use")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default runs/bench-seg-libraries)")
    parser.add_argument("overrides", nargs="*", help="config overrides for every model, e.g. train.epochs=3")
    return parser.parse_args(argv)


def chosen_models(args: argparse.Namespace) -> list[str]:
    if args.models is None:
        return list(QUICK_MODELS if args.quick else CONTESTANTS)
    keys = [k.strip() for k in args.models.split(",") if k.strip()]
    unknown = [k for k in keys if k not in CONTESTANTS]
    if unknown or not keys:
        raise SystemExit(f"--models: unknown {unknown or 'empty list'}; choose from {', '.join(CONTESTANTS)}")
    return keys


def prepare_data(args: argparse.Namespace, budget: Budget, out: Path) -> tuple[list[str], str, str]:
    """(data and split overrides, what the data are, test-side name): HAM10000 if present, else synthetic.

    The split is written once to ``out/split.csv`` (kept for a rerun) and given to every model as
    ``data.split.file``, so ``data.split.*`` overrides have no effect: the budget's fractions make it.
    """
    from dermkit.data.readers import load_table
    from dermkit.data.splits import save_split

    ham = SHARED / "HAM10000"
    if ham.is_dir() and not args.synthetic:
        root, data, test_side = ham, f"shared HAM10000 ({ham})", "HAM test"
    elif not args.quick and not args.synthetic:
        raise SystemExit(f"{ham} not found: the full benchmark needs the shared data (or pass --synthetic)")
    else:
        from dermkit.data.synthetic import write_synthetic_dataset

        root = out / "synthetic"
        if not root.is_dir():
            write_synthetic_dataset(root, n=SYNTHETIC_IMAGES, seed=0, size=(150, 200))
        data, test_side = f"synthetic ({SYNTHETIC_IMAGES} images of 150x200)", "synthetic test"
    split_file = out / "split.csv"
    if not split_file.is_file():
        save_split(budget.split(load_table(root)), split_file)
    return [f"data.path={root}", f"data.split.file={split_file}", *budget.overrides()], data, test_side


def main(argv: list[str] | None = None) -> None:
    from dermkit.data.readers import load_table

    start = time.perf_counter()
    args = parse_args(argv)
    keys = chosen_models(args)
    default_out = ROOT / "runs" / "bench-seg-libraries"
    out = args.out or (default_out / "quick" if args.quick else default_out)
    if args.quick and args.out is None and out.exists():
        shutil.rmtree(out)  # the quick run's own scratch folder: never a folder the user named
    out.mkdir(parents=True, exist_ok=True)
    budget = QUICK if args.quick else FULL
    overrides, data, test_side = prepare_data(args, budget, out)
    overrides += args.overrides
    ph2_root = SHARED / "PH2Dataset"
    ph2_table = load_table(ph2_root) if ph2_root.is_dir() else None
    configs = {k: run_config(args.protocol, k, CONTESTANTS[k], overrides) for k in keys}  # all checked first
    rows = [(CONTESTANTS[k], result_for(k, cfg, out / k, ph2_table)) for k, cfg in configs.items()]
    cfg = next(iter(configs.values()))
    meta = {
        "protocol": args.protocol,
        "input_size": "x".join(map(str, cfg.data.preprocess.size or ["native"])),
        "loss": cfg.loss.name,
        "tta": cfg.inference.tta,
        "postprocess": cfg.inference.postprocess,
        "budget": {
            "epochs": cfg.train.epochs,  # what the runs had: a user's override wins over the preset
            "batches": cfg.train.max_batches_per_epoch,  # None: whole epochs
            "batch_size": cfg.train.batch_size,
            "split": {"val": budget.val, "test": budget.test, "held_out_lesions": budget.held_out_lesions},
        },
        "overrides": overrides,
        "data": data,
        "test_side": test_side,
        "ph2": f"{len(ph2_table.records)} shared cases" if ph2_table is not None else "absent (not scored)",
        "threads": torch.get_num_threads(),
        "workers": cfg.data.num_workers,
        "total_minutes": (time.perf_counter() - start) / 60,
        "monai": _version("monai"),
        "smp": _version("segmentation_models_pytorch"),
    }
    table = results_table(rows, meta)
    (out / "results.json").write_text(json.dumps({"meta": meta, "results": [r for _, r in rows]}, indent=2) + "\n")
    (out / "results.md").write_text(table.markdown())
    print(table.markdown())
    print(f"results: {out / 'results.json'}")


def _version(module: str) -> str | None:
    try:
        return __import__(module).__version__
    except ImportError:
        return None


if __name__ == "__main__":
    main()
