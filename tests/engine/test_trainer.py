"""The training engine end to end on tiny synthetic data: run folder, exact resume, guards."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import torch

from dermkit.checkpoint import load_checkpoint
from dermkit.config import load_config
from dermkit.engine.trainer import TrainingDiverged, fit
from dermkit.errors import DataError

TINY = [
    "model.name=unet_s2",
    "model.kwargs.base_filters=4",
    "loss.name=bce_dice",
    "data.preprocess.size=[32, 32]",
    "data.num_workers=0",
    "data.cache_dir=null",
    "train.batch_size=8",
    "train.epochs=2",
    "augment.hflip=true",
    "augment.rotate=20",
    "optim.lr=0.01",
]


def tiny_config(data: Path, *extra: str):
    return load_config(None, [*TINY, f"data.path={data}", *extra], base={"task": "segmentation", "recipe": "tiny"})


def test_fit_writes_a_complete_run_folder(synthetic_root, tmp_path):
    run = tmp_path / "run"
    final = fit(tiny_config(synthetic_root), run, progress=False)
    for name in (
        "config.yaml",
        "environment.json",
        "split.csv",
        "train.log",
        "metrics.csv",
        "metrics.json",
        "curves.png",
        "final_metrics.json",
        "data_check.md",
        "checkpoints/best.pt",
        "checkpoints/last.pt",
    ):
        assert (run / name).exists(), name
    assert final["epochs_run"] == 2
    assert 0.0 <= final["test"]["dice"] <= 1.0 and final["test"]["images"] > 0
    ckpt = load_checkpoint(run / "checkpoints" / "best.pt")
    assert ckpt.model_name == "unet_s2" and ckpt.model_kwargs["base_filters"] == 4


class Killed(Exception):
    """Stands in for the process dying."""


def _kill_at_step(monkeypatch, step: int) -> None:
    """Make the (step + 1)-th training batch die before its optimiser step."""
    from dermkit.engine.tasks import SegmentationTask

    real_loss = SegmentationTask.loss
    calls = {"n": 0}

    def dying_loss(self, model, batch, loss_fn):
        calls["n"] += 1
        if calls["n"] > step:
            raise Killed
        return real_loss(self, model, batch, loss_fn)

    monkeypatch.setattr(SegmentationTask, "loss", dying_loss)


@pytest.mark.parametrize(("checkpoint_every", "ema"), [(0, None), (1, None), (1, 0.9)])
def test_resume_after_kill_gives_identical_weights(synthetic_root, tmp_path, monkeypatch, checkpoint_every, ema):
    extra = (f"train.checkpoint_every={checkpoint_every}", "train.epochs=2", f"train.ema={ema or 'null'}")
    full = tmp_path / "full"
    fit(tiny_config(synthetic_root, *extra), full, progress=False)

    killed = tmp_path / "killed"
    with monkeypatch.context() as m:
        _kill_at_step(m, step=8)  # part-way through epoch 2 (about 6 batches per epoch)
        with pytest.raises(Killed):
            fit(tiny_config(synthetic_root, *extra), killed, progress=False)
    state = load_checkpoint(killed / "checkpoints" / "last.pt").training.loop
    assert state["epoch"] == 1 and (state["batch"] > 0) == bool(checkpoint_every)
    fit(tiny_config(synthetic_root, *extra), killed, resume=True, progress=False)

    a = load_checkpoint(full / "checkpoints" / "last.pt")
    b = load_checkpoint(killed / "checkpoints" / "last.pt")
    assert_same_run(a, b)
    assert (a.training.train_weights is None) == (ema is None)
    for key, tensor in (a.training.train_weights or {}).items():  # the live weights resume exactly too
        assert torch.equal(tensor, b.training.train_weights[key]), key


def test_ema_saves_and_validates_the_average_of_the_live_weights(synthetic_root, tmp_path, monkeypatch):
    """train.ema: the checkpoint's weights are the warmed-up moving average of the weights after each
    step (decay min(0.8, 1 - t^(-2/3)) at step t + 1), the live ones are kept for resuming."""
    from dermkit.engine.trainer import Trainer

    seen: list[dict[str, torch.Tensor]] = []
    real_step = Trainer._step

    def recording_step(self, batch, batches, bar):
        real_step(self, batch, batches, bar)
        seen.append({k: v.detach().clone() for k, v in self.model.state_dict().items()})

    monkeypatch.setattr(Trainer, "_step", recording_step)
    run = tmp_path / "run"
    fit(tiny_config(synthetic_root, "train.ema=0.8", "train.epochs=1"), run, progress=False)
    ckpt = load_checkpoint(run / "checkpoints" / "last.pt")
    average = {k: v.double() for k, v in seen[0].items() if v.is_floating_point()}
    for t, live in enumerate(seen[1:], start=1):
        decay = min(0.8, 1 - (1 + t) ** (-2 / 3))
        for key in average:
            average[key] = decay * average[key] + (1 - decay) * live[key].double()
    assert len(seen) > 3
    for key, tensor in ckpt.weights.items():
        if key in average:
            torch.testing.assert_close(tensor.double(), average[key], rtol=1e-4, atol=1e-6)
        assert torch.equal(ckpt.training.train_weights[key], seen[-1][key]), key
    assert any(not torch.equal(ckpt.weights[k], seen[-1][k]) for k in average)
    best = load_checkpoint(run / "checkpoints" / "best.pt")  # one epoch: best is the averaged last
    assert all(torch.equal(best.weights[k], ckpt.weights[k]) for k in ckpt.weights)


def assert_same_run(a, b) -> None:
    """Two checkpoints hold the same weights after the same steps, with the same validation score."""
    assert a.training.loop["step"] == b.training.loop["step"]
    for key, tensor in a.weights.items():
        assert torch.equal(tensor, b.weights[key]), key
    for row_a, row_b in zip(a.training.loop["history"], b.training.loop["history"], strict=True):
        assert row_a["val_dice"] == row_b["val_dice"] and row_a["train_loss"] == row_b["train_loss"], row_b


def test_nan_loss_stops_with_clear_message(synthetic_root, tmp_path, monkeypatch):
    from dermkit.engine.tasks import SegmentationTask

    monkeypatch.setattr(SegmentationTask, "loss", lambda self, m, b, f: m(b["image"]).mask_logits.sum() * float("nan"))
    with pytest.raises(TrainingDiverged, match="loss became nan at epoch 1, batch 1.*Lower optim.lr"):
        fit(tiny_config(synthetic_root), tmp_path / "run", progress=False)
    assert (tmp_path / "run" / "checkpoints" / "diverged.pt").exists()


def _truncate(path: Path) -> Path:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])
    return path


def _empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def _text(path: Path) -> Path:
    path.write_text("this is not a JPEG")
    return path


def _wrong_mask(path: Path) -> Path:
    from PIL import Image

    mask = path.parent.parent / "HAM10000_segmentations_lesion_tschandl" / f"{path.stem}_segmentation.png"
    Image.new("L", (10, 7), 255).save(mask)
    return mask


@pytest.mark.parametrize(
    ("corrupt", "reason"),
    [
        (_truncate, "image data is truncated"),
        (_empty, "file is empty"),
        (_text, "not a readable image"),
        (_wrong_mask, r"is 10x7 \(WxH\)"),
    ],
    ids=["truncated_jpeg", "zero_bytes", "text_named_jpg", "mask_wrong_size"],
)
def test_bad_file_fails_fast_or_is_excluded_and_recorded(synthetic_root, tmp_path, corrupt, reason):
    data = tmp_path / "data"
    shutil.copytree(synthetic_root, data)
    victim = sorted((data / "HAM10000_images").glob("*.jpg"))[3]
    bad_file = corrupt(victim)
    with pytest.raises(
        DataError, match=rf"(?s)data check found 1 problem:.*{bad_file.name}.*{reason}.*on_bad_files=exclude"
    ):
        fit(tiny_config(data, "train.epochs=1"), tmp_path / "fail", progress=False)
    assert (tmp_path / "fail" / "data_check.md").exists()
    fit(tiny_config(data, "train.epochs=1", "data.on_bad_files=exclude"), tmp_path / "ok", progress=False)
    excluded = (tmp_path / "ok" / "excluded.csv").read_text()
    assert victim.stem in excluded and re.search(reason, excluded)
    split = (tmp_path / "ok" / "split.csv").read_text()
    assert victim.stem not in split
