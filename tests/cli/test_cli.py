"""The command line: every command listed, clean errors, the data commands for real."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

from dermkit.cli import app
from dermkit.errors import DataError

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_help_lists_every_command():
    out = invoke("--help").output
    for name in ("data", "preprocess", "train", "evaluate", "segment", "demo"):
        assert name in out
    data_help = invoke("data", "--help").output
    for name in ("synth", "check", "split"):
        assert name in data_help


def test_synth_check_split(tmp_path):
    root = tmp_path / "syn"
    res = invoke("data", "synth", str(root), "--n", "40", "--size", "48x64", "--seed", "1")
    assert res.exit_code == 0, res.output
    assert len(list((root / "HAM10000_images").glob("*.jpg"))) == 40
    res = invoke("data", "check", str(root), "--out", str(tmp_path / "chk"))
    assert res.exit_code == 0, res.output
    assert "40" in res.output and (tmp_path / "chk" / "class_distribution.png").exists()
    res = invoke("data", "split", str(root), "--out", str(tmp_path / "split.csv"), "--val", "0.2", "--test", "0.2")
    assert res.exit_code == 0, res.output
    split = pd.read_csv(tmp_path / "split.csv")
    assert len(split) == 40 and split.groupby("lesion_id")["split"].nunique().max() == 1
    assert "no lesions and near-duplicate images cross sides" in res.output
    res = invoke(
        "data",
        "split",
        str(root),
        "--out",
        str(tmp_path / "split1.csv"),
        "--val",
        "0.2",
        "--test",
        "0.2",
        "--test-fold",
        "1",
        "--no-hashes",
    )
    assert res.exit_code == 0, res.output
    other = pd.read_csv(tmp_path / "split1.csv")
    tested = [set(f.loc[f["split"] == "test", "image_id"]) for f in (split, other)]
    assert tested[0] and tested[1] and not tested[0] & tested[1]  # another test side, no image tested twice
    with pytest.raises(DataError, match="test_fold=9 does not exist"):  # `dermkit` prints it as "error: ..."
        invoke("data", "split", str(root), "--out", str(tmp_path / "split9.csv"), "--test", "0.2", "--test-fold", "9")
    assert not (tmp_path / "split9.csv").exists()
    res = runner.invoke(
        app, ["data", "split", str(root), "--out", str(tmp_path / "k.csv"), "--kfold", "5", "--test-fold", "1"]
    )
    assert res.exit_code != 0 and "--kfold" in res.output and not (tmp_path / "k.csv").exists()


def test_check_reports_corrupt_file_with_exit_code_1(tmp_path):
    root = tmp_path / "syn"
    invoke("data", "synth", str(root), "--n", "20", "--size", "48x64")
    (root / "HAM10000_images" / "SYN_0000002.jpg").write_bytes(b"")
    res = invoke("data", "check", str(root), "--no-hashes", "--out", str(tmp_path / "chk"))  # not ./runs
    assert res.exit_code == 1
    assert (tmp_path / "chk" / "data_check.json").exists()
    assert "empty" in res.output and "SYN_0000002" in res.output


def test_preprocess_folder(tmp_path):
    root = tmp_path / "syn"
    invoke("data", "synth", str(root), "--n", "6", "--size", "64x64", "--hair-prob", "1")
    out = tmp_path / "pre"
    res = invoke(
        "preprocess",
        str(root / "HAM10000_images"),
        str(out),
        "--hair",
        "auto",
        "--frame",
        "inpaint",
        "--size",
        "32x48",
        "--save-masks",
    )
    assert res.exit_code == 0, res.output
    assert len(list(out.glob("SYN_*_hair.png"))) == 6
    assert len([p for p in out.glob("SYN_*.png") if "_" not in p.stem.removeprefix("SYN_")]) == 6


def test_domain_errors_are_one_line_not_tracebacks(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "dermkit", "data", "check", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "error:" in proc.stderr and str(tmp_path / "missing") in proc.stderr
    assert "Traceback" not in proc.stderr
