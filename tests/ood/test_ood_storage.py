"""RUN/ood.npz + RUN/ood.json: a round trip gives the same scores; bad files are DermkitErrors naming the file."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from dermkit.errors import DermkitError
from dermkit.ood import OOD_ARRAYS, OOD_JSON, fit_ood, load_ood


@pytest.fixture
def saved(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 120)
    x = rng.normal(size=(120, 12)) + 3 * np.eye(12)[y]
    val = rng.normal(size=(30, 12)) + 3 * np.eye(12)[rng.integers(0, 3, 30)]
    det = fit_ood(x, y, val, rng.normal(size=(30, 3)), classes=("a", "b", "c"), max_components=8)
    det.save(tmp_path)
    return det, tmp_path, x


def rewrite_json(run, **changes):
    info = json.loads((run / OOD_JSON).read_text())
    info.update(changes)
    (run / OOD_JSON).write_text(json.dumps(info))


def test_round_trip_gives_the_same_detector(saved):
    det, run, x = saved
    loaded = load_ood(run)
    np.testing.assert_array_equal(loaded.score(x), det.score(x))
    assert loaded.summary() == det.summary()
    info = json.loads((run / OOD_JSON).read_text())
    assert info["quantile"] == 0.95 and info["components"] == 8 and "validation" in info["rule"]
    with np.load(run / OOD_ARRAYS, allow_pickle=False) as npz:
        assert sorted(npz.files) == ["class_means", "components", "mean", "precision"]


def test_a_run_without_a_detector_has_none(tmp_path):
    assert load_ood(tmp_path) is None


@pytest.mark.parametrize("missing", [OOD_ARRAYS, OOD_JSON])
def test_half_a_detector_is_an_error(saved, missing):
    _, run, _ = saved
    (run / missing).unlink()
    with pytest.raises(DermkitError, match=f"{missing}: missing"):
        load_ood(run)


def test_a_changed_npz_is_refused(saved):
    _, run, _ = saved
    data = bytearray((run / OOD_ARRAYS).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (run / OOD_ARRAYS).write_bytes(bytes(data))
    with pytest.raises(DermkitError, match=r"ood\.npz: its checksum differs"):
        load_ood(run)


def _write_npz(run, **arrays) -> None:
    np.savez(run / OOD_ARRAYS, **arrays)
    rewrite_json(run, npz_sha256=hashlib.sha256((run / OOD_ARRAYS).read_bytes()).hexdigest())


def test_a_pickled_array_is_never_loaded(saved):
    det, run, _ = saved
    arrays = {n: getattr(det, n) for n in ("mean", "components", "class_means")}
    _write_npz(run, **arrays, precision=np.array([{"evil": 1}], dtype=object))
    with pytest.raises(DermkitError, match=r"ood\.npz: cannot read"):
        load_ood(run)


def test_wrong_shapes_or_values_are_refused(saved):
    det, run, _ = saved
    arrays = {n: getattr(det, n) for n in ("mean", "components", "class_means", "precision")}
    _write_npz(run, **{**arrays, "precision": arrays["precision"][:-1]})
    with pytest.raises(DermkitError, match=r"ood\.json: not a valid OOD detector \(array shapes disagree"):
        load_ood(run)
    bad = arrays["mean"].copy()
    bad[0] = np.inf
    _write_npz(run, **{**arrays, "mean": bad})
    with pytest.raises(DermkitError, match="'mean' is not finite"):
        load_ood(run)
    _write_npz(run, mean=arrays["mean"])
    with pytest.raises(DermkitError, match="lacks the arrays"):
        load_ood(run)


@pytest.mark.parametrize(
    "change",
    [{"format": "other"}, {"threshold": None}, {"threshold": "nan"}, {"classes": ["a"]}, {"quantile": 2}],
    ids=["format", "no-threshold", "nan-threshold", "classes", "quantile"],
)
def test_bad_numbers_are_refused(saved, change):
    _, run, _ = saved
    rewrite_json(run, **change)
    with pytest.raises(DermkitError, match=r"ood\.json"):
        load_ood(run)


def test_unreadable_json_is_refused(saved):
    _, run, _ = saved
    (run / OOD_JSON).write_text("{not json")
    with pytest.raises(DermkitError, match=r"ood\.json: cannot read"):
        load_ood(run)
