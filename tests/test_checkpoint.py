"""Checkpoints are typed and loaded without running code from the file."""

from __future__ import annotations

import pickle
from dataclasses import replace

import pytest
import torch

from dermkit.checkpoint import Checkpoint, CheckpointError, TrainingState, load_checkpoint, save_checkpoint


def _checkpoint(training: bool = True) -> Checkpoint:
    state = (
        TrainingState(
            {"state": {}, "param_groups": []},
            None,
            {},
            {"epoch": 1, "history": [{"val_dice": 0.5}]},
            torch.get_rng_state(),
        )
        if training
        else None
    )
    return Checkpoint(
        "segmentation",
        {"task": "segmentation"},
        "unet_s2",
        {"base_filters": 4},
        (),
        (0.5, 0.5, 0.5),
        (0.25, 0.25, 0.25),
        {"w": torch.ones(2)},
        state,
    )


def test_round_trip(tmp_path):
    path = tmp_path / "c.pt"
    save_checkpoint(path, _checkpoint())
    back = load_checkpoint(path)
    assert back.model_name == "unet_s2" and back.mean == (0.5, 0.5, 0.5)
    assert torch.equal(back.weights["w"], torch.ones(2)) and back.training.loop["epoch"] == 1
    assert not path.with_name("c.pt.tmp").exists()


def test_averaged_runs_keep_their_live_weights_for_resuming(tmp_path):
    ckpt = _checkpoint()
    live = {"w": torch.zeros(2)}
    save_checkpoint(tmp_path / "avg.pt", replace(ckpt, training=replace(ckpt.training, train_weights=live)))
    save_checkpoint(tmp_path / "plain.pt", ckpt)
    back = load_checkpoint(tmp_path / "avg.pt")
    assert torch.equal(back.training.train_weights["w"], live["w"]) and torch.equal(back.weights["w"], torch.ones(2))
    assert load_checkpoint(tmp_path / "plain.pt").training.train_weights is None


def test_weights_only_checkpoint_has_no_training_state(tmp_path):
    save_checkpoint(tmp_path / "c.pt", _checkpoint(training=False))
    assert load_checkpoint(tmp_path / "c.pt").training is None


class _Boom:
    """Unpickling this runs code (the attack a .pt file can carry)."""

    def __reduce__(self):
        return (open, ("/tmp/dermkit-pwned-by-checkpoint", "w"))


def test_a_pickle_that_would_run_code_is_refused_not_run(tmp_path):
    import os

    target = "/tmp/dermkit-pwned-by-checkpoint"
    if os.path.exists(target):
        os.remove(target)
    path = tmp_path / "evil.pt"
    torch.save({"version": 1, "model": _Boom()}, path)
    with pytest.raises(CheckpointError, match="not a dermkit checkpoint.*can run code"):
        load_checkpoint(path)
    assert not os.path.exists(target)
    with open(tmp_path / "plain.pkl", "wb") as fh:  # a bare pickle (not a torch zip) too
        pickle.dump(_Boom(), fh)
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "plain.pkl")
    assert not os.path.exists(target)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (torch.zeros(3), "holds a Tensor"),
        ([1, 2], "holds a list"),
        ({"layer.weight": torch.zeros(2)}, "no 'version' entry"),
        ({**_checkpoint().to_payload(), "model": {"w": 3}}, "not a state dict of tensors"),
        ({**_checkpoint().to_payload(), "version": 99}, "version 99 is not supported"),
        ({**_checkpoint().to_payload(), "task": 5}, "'task' is a int"),
        ({**_checkpoint().to_payload(), "train_weights": [torch.ones(2)]}, "'train_weights' is not a state dict"),
    ],
)
def test_files_that_are_not_dermkit_checkpoints_get_clear_errors(tmp_path, payload, reason):
    torch.save(payload, tmp_path / "x.pt")
    with pytest.raises(CheckpointError, match=reason):
        load_checkpoint(tmp_path / "x.pt")


def test_truncated_and_missing_files(tmp_path):
    path = tmp_path / "c.pt"
    save_checkpoint(path, _checkpoint())
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="cannot read checkpoint"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="checkpoint not found"):
        load_checkpoint(tmp_path / "nope.pt")


def test_checkpoint_model_options_cannot_point_loading_at_other_files(tmp_path):
    from dermkit.inference import load_run

    run = tmp_path / "run"
    ckpt = _checkpoint(training=False)
    for options in (
        {"encoder": "tu-resnet18", "checkpoint_path": str(tmp_path / "payload.pt")},
        {"pretrained_cfg_overlay": {"file": "/etc/passwd"}},
    ):
        hostile = Checkpoint(
            "segmentation",
            {"task": "segmentation", "model": {"name": "smp_unet"}, "loss": {"name": "dice"}},
            "smp_unet",
            options,
            (),
            (0.5,) * 3,
            (0.25,) * 3,
            {},
        )
        save_checkpoint(run / "checkpoints" / "best.pt", hostile)
        with pytest.raises(CheckpointError, match="would make loading read other files"):
            load_run(run, device="cpu")
    assert ckpt.task == "segmentation"


def test_checkpoint_model_options_the_model_does_not_take_are_a_clear_error(tmp_path):
    from dermkit.inference import load_run

    run = tmp_path / "run"
    bad = Checkpoint(
        "segmentation",
        {"task": "segmentation", "model": {"name": "unet_s2"}, "loss": {"name": "dice"}},
        "unet_s2",
        {"base_filters": "abc"},
        (),
        (0.5,) * 3,
        (0.25,) * 3,
        {},
    )
    save_checkpoint(run / "checkpoints" / "best.pt", bad)
    with pytest.raises(CheckpointError, match="cannot rebuild model 'unet_s2'"):
        load_run(run, device="cpu")
