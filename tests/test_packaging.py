"""The wheel works on its own: installed (not editable) into a fresh venv, run from another folder.

Builds the wheel from a copy of the checkout (so the shared checkout gets no ``build/`` or
``*.egg-info``), installs it with ``--no-deps`` into a venv made without packages, and lets that
venv see the running interpreter's installed dependencies through a ``.pth`` file, never the source
tree. Then ``dermkit recipes`` and a two-batch training by recipe name run from an empty folder.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from dermkit.recipes import recipe_names

ROOT = Path(__file__).resolve().parents[1]
PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]  # the running interpreter's pip
TRAIN = [
    "train.epochs=1",
    "train.max_batches_per_epoch=2",
    "train.batch_size=4",
    "data.synthetic.n=40",
    "data.synthetic.size=[64,64]",
    "data.preprocess.size=[64,64]",
    "data.num_workers=0",
    "data.cache_dir=null",
]


def _run(args: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    env["PYTHONNOUSERSITE"] = "1"
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _copy_project(dest: Path) -> Path:
    """pyproject.toml, README.md and src/ of the checkout (what the wheel is built from)."""
    dest.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    shutil.copytree(ROOT / "src", dest / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"))
    return dest


def _dependency_dirs() -> list[str]:
    """The running interpreter's site-packages folders, minus anything inside the checkout."""
    dirs = [*site.getsitepackages(), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    keep = []
    for d in dict.fromkeys(dirs):
        path = Path(d).resolve()
        if path.is_dir() and not path.is_relative_to(ROOT / "src"):
            keep.append(str(path))
    return keep


@pytest.mark.slow
def test_wheel_in_a_fresh_venv_lists_recipes_and_trains_by_name(tmp_path):
    project = _copy_project(tmp_path / "project")
    wheels = tmp_path / "wheels"
    built = _run([*PIP, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", wheels, project], tmp_path)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = wheels.glob("dermkit-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "dermkit/py.typed" in names
    assert {f"dermkit/recipes/{n}.yaml" for n in recipe_names()} <= names
    assert "dermkit/schemas/analysis-v1.json" in names  # the published result schema ships too

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False, symlinks=os.name != "nt")
    python = env_dir / "bin" / "python"
    installed = _run([*PIP, "--python", python, "install", "--no-deps", "--no-index", wheel], tmp_path)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    # Only now (pip must not see the checkout's editable install): dependencies, not the source tree.
    purelib = Path(
        _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=tmp_path).stdout.strip()
    )
    (purelib / "_dermkit_test_dependencies.pth").write_text("\n".join(_dependency_dirs()) + "\n")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    show = "import dermkit, dermkit.recipes as r; print(dermkit.__file__); print(r.recipes_dir())"
    where = _run([python, "-c", show], cwd=elsewhere)
    assert where.returncode == 0, where.stderr
    package, recipes = (Path(line) for line in where.stdout.split())
    assert package.resolve().is_relative_to(purelib.resolve()), package  # the wheel's copy ...
    assert not package.resolve().is_relative_to(ROOT.resolve())  # ... not the checkout's
    assert recipes.resolve().is_relative_to(purelib.resolve())

    dermkit = env_dir / "bin" / "dermkit"
    listed = _run([dermkit, "recipes"], cwd=elsewhere, timeout=120)
    assert listed.returncode == 0, listed.stderr
    shown = {line.split(" | ")[0].strip() for line in listed.stdout.splitlines()[2:]}
    assert shown == set(recipe_names())

    run = elsewhere / "RUN"
    trained = _run([dermkit, "train", "seg", "--config", "seg_s2_unet", "--out", "RUN", *TRAIN], cwd=elsewhere)
    assert trained.returncode == 0, trained.stdout[-3000:] + trained.stderr[-3000:]
    assert (run / "checkpoints" / "best.pt").is_file()
    assert "recipe: seg_s2_unet" in (run / "config.yaml").read_text()
