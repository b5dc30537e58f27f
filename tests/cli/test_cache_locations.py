"""The preprocessing cache lives in $DERMKIT_CACHE / --cache-dir / ~/.cache, never in the current folder."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from dermkit.config import load_config
from dermkit.errors import DermkitError


@pytest.fixture
def cache(monkeypatch, tmp_path) -> Path:
    """$DERMKIT_CACHE set to a fresh folder, and the current folder a fresh, empty one."""
    monkeypatch.setenv("DERMKIT_CACHE", str(tmp_path / "cache"))
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    return tmp_path / "cache"


@pytest.fixture
def captured_fit(monkeypatch):
    import dermkit.engine.trainer as trainer

    seen = []
    monkeypatch.setattr(trainer.Trainer, "fit", lambda self: seen.append(self.cfg) or {})
    return seen


@pytest.mark.parametrize(
    ("option", "expected"), [([], "env"), (["--cache-dir", "{tmp}/mine"], "{tmp}/mine"), (["--cache-dir", "off"], None)]
)
def test_train_honours_dermkit_cache_and_cache_dir(run_cli, cache, captured_fit, tmp_path, option, expected):
    res = run_cli(
        "train", "seg", "-c", "seg_default", "--out", tmp_path / "run", *(o.format(tmp=tmp_path) for o in option)
    )
    assert res.code == 0, res.err
    want = str(cache) if expected == "env" else (expected and expected.format(tmp=tmp_path))
    assert captured_fit[0].data.cache_dir == want


def test_demo_passes_cache_dir_to_both_trainings(run_cli, cache, monkeypatch, tmp_path):
    import dermkit.demo

    seen = {}

    def fake_run_demo(out, **kwargs):
        seen.update(kwargs)
        raise DermkitError("stop here")

    monkeypatch.setattr(dermkit.demo, "run_demo", fake_run_demo)
    res = run_cli("demo", "--out", tmp_path / "demo", "--cache-dir", "off")
    assert res.code == 2 and "stop here" in res.err
    for key in ("seg_overrides", "cls_overrides"):
        assert load_config("seg_default", seen[key]).data.cache_dir is None


@dataclasses.dataclass(eq=False)
class _Run:
    cfg: object


@pytest.mark.parametrize(
    ("recorded", "option", "expected"),
    [
        (".cache/dermkit", None, "env"),  # an old run's folder, relative to where it was trained
        ("/elsewhere/cache", None, "env"),  # another machine's folder
        (None, None, None),  # trained with the cache off: stays off
        ("/x", "{tmp}/mine", "{tmp}/mine"),
        ("/x", "off", None),
    ],
)
def test_evaluation_uses_this_machines_cache(cache, tmp_path, recorded, option, expected):
    from dermkit.cli.evaluate import with_cache_dir

    run = _Run(load_config("cls_default", [f"data.cache_dir={recorded if recorded else 'null'}"]))
    got = with_cache_dir(run, option and option.format(tmp=tmp_path)).cfg.data.cache_dir
    assert got == (str(cache) if expected == "env" else expected and expected.format(tmp=tmp_path))
    assert run.cfg.data.cache_dir == (recorded and str(Path(recorded)))  # the loaded run is not changed


def test_train_and_evaluate_write_no_cache_in_the_current_folder(run_cli, cache, synthetic_root, tmp_path):
    run = tmp_path / "run"
    res = run_cli(
        "train",
        "cls",
        "-c",
        "cls_s2_deepconvnet",
        "--data",
        synthetic_root,
        "--out",
        run,
        "train.epochs=1",
        "data.num_workers=0",
    )
    assert res.code == 0, res.err
    res = run_cli("evaluate", "cls", "--run", run, "--data", synthetic_root, "--side", "test", "--n-boot", "10")
    assert res.code == 0, res.err
    assert (run / f"eval-{synthetic_root.name}" / "metrics.json").exists()
    assert list(Path.cwd().iterdir()) == []  # wrote .cache/dermkit here before
    assert any(p.is_file() for p in cache.rglob("*"))
