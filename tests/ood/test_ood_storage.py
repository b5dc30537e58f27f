"""RUN/ood.npz + RUN/ood.json: a round trip gives the same scores; bad files are DermkitErrors naming the file."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from dermkit.errors import DermkitError
from dermkit.ood import OOD_ARRAYS, OOD_JSON, fit_ood, load_ood, save_ood


@pytest.fixture
def saved(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 120)
    x = rng.normal(size=(120, 12)) + 3 * np.eye(12)[y]
    val = rng.normal(size=(30, 12)) + 3 * np.eye(12)[rng.integers(0, 3, 30)]
    det = fit_ood(x, y, val, rng.normal(size=(30, 3)), classes=("a", "b", "c"), max_components=8)
    save_ood(det, tmp_path)
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
    np.testing.assert_array_equal(loaded.mahalanobis_score(x), det.mahalanobis_score(x))
    np.testing.assert_array_equal(loaded.knn.bank, det.knn.bank)
    assert loaded.method == det.method and loaded.threshold == det.threshold
    info = json.loads((run / OOD_JSON).read_text())
    assert info["format"] == "dermkit-ood-2" and info["k"] == 10 and info["bank_images"] == 120
    assert info["quantile"] == 0.95 and info["mahalanobis"]["components"] == 8 and "validation" in info["rule"]
    with np.load(run / OOD_ARRAYS, allow_pickle=False) as npz:
        assert sorted(npz.files) == ["bank", "class_means", "components", "mean", "precision"]
        assert npz["bank"].dtype == np.float16 and npz["bank"].shape == (120, 12)


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


def stored_arrays(det) -> dict[str, np.ndarray]:
    m = det.mahalanobis
    arrays = {n: getattr(m, n) for n in ("mean", "components", "class_means", "precision")}
    return {"bank": det.knn.bank.astype(np.float16), **arrays}


def test_rewritten_arrays_with_a_new_checksum_load(saved):
    det, run, x = saved
    _write_npz(run, **stored_arrays(det))  # the check below is not vacuous: the same arrays do load
    np.testing.assert_array_equal(load_ood(run).score(x), det.score(x))


@pytest.mark.parametrize("name", ["bank", "precision"])
def test_a_pickled_array_is_never_loaded(saved, name):
    det, run, _ = saved
    _write_npz(run, **{**stored_arrays(det), name: np.array([{"evil": 1}], dtype=object)})
    with pytest.raises(DermkitError, match=r"ood\.npz: cannot read"):
        load_ood(run)


def test_a_tampered_bank_is_refused(saved):
    det, run, _ = saved
    arrays = stored_arrays(det)
    _write_npz(run, **{**arrays, "bank": arrays["bank"] * 2})
    with pytest.raises(DermkitError, match=r"ood\.json: not a valid OOD detector \(the k-NN bank's rows are not unit"):
        load_ood(run)
    _write_npz(run, **{**arrays, "bank": arrays["bank"][:-1]})  # one image fewer than bank_images says
    with pytest.raises(DermkitError, match=r"array shapes disagree: bank \(119, 12\) \(120 images\)"):
        load_ood(run)
    _write_npz(run, **{**arrays, "bank": arrays["bank"][:, :-1]})
    with pytest.raises(DermkitError, match="array shapes disagree"):
        load_ood(run)
    bad = arrays["bank"].copy()
    bad[3, 0] = np.nan
    _write_npz(run, **{**arrays, "bank": bad})
    with pytest.raises(DermkitError, match="'bank' is not finite"):
        load_ood(run)
    _write_npz(run, **{**arrays, "bank": (arrays["bank"] * 1000).astype(np.int16)})
    with pytest.raises(DermkitError, match="'bank' is not finite floating point"):
        load_ood(run)
    _write_npz(run, **{n: a for n, a in arrays.items() if n != "bank"})
    with pytest.raises(DermkitError, match=r"lacks the arrays \['bank'\]"):
        load_ood(run)


def test_a_version_1_detector_is_refused_with_what_to_do(saved):
    det, run, _ = saved
    arrays = stored_arrays(det)
    np.savez(run / OOD_ARRAYS, **{n: a for n, a in arrays.items() if n != "bank"})
    v1 = {"format": "dermkit-ood-1", "method": "mahalanobis_pca_ledoit_wolf", "threshold": 1.0}
    (run / OOD_JSON).write_text(
        json.dumps({**v1, "npz_sha256": hashlib.sha256((run / OOD_ARRAYS).read_bytes()).hexdigest()})
    )
    with pytest.raises(DermkitError, match=r"ood\.json: an OOD detector of the old format 'dermkit-ood-1'") as err:
        load_ood(run)
    assert "refit_ood" in str(err.value) and "delete ood.npz and ood.json" in str(err.value)
    (run / OOD_ARRAYS).unlink()
    (run / OOD_JSON).unlink()
    assert load_ood(run) is None  # what deleting them leaves: a run without a detector


def test_wrong_shapes_or_values_are_refused(saved):
    det, run, _ = saved
    arrays = stored_arrays(det)
    _write_npz(run, **{**arrays, "precision": arrays["precision"][:-1]})
    with pytest.raises(DermkitError, match=r"ood\.json: not a valid OOD detector \(array shapes disagree"):
        load_ood(run)
    bad = arrays["mean"].copy()
    bad[0] = np.inf
    _write_npz(run, **{**arrays, "mean": bad})
    with pytest.raises(DermkitError, match="'mean' is not finite"):
        load_ood(run)
    _write_npz(run, bank=arrays["bank"], mean=arrays["mean"])
    with pytest.raises(DermkitError, match="lacks the arrays"):
        load_ood(run)


@pytest.mark.parametrize(
    "change",
    [
        {"format": "other"},
        {"format": ["dermkit-ood-1"]},
        {"threshold": None},
        {"threshold": "nan"},
        {"classes": ["a"]},
        {"quantile": 2},
        {"k": 0},
        {"k": 121},
        {"k": 2.5},
        {"k": True},
        {"bank_images": 100},
        {"mahalanobis": {"threshold": 1.0}},
        {"mahalanobis": None},
    ],
    ids=[
        "format",
        "format-list",
        "no-threshold",
        "nan-threshold",
        "classes",
        "quantile",
        "k-0",
        "k-over-bank",
        "k-fraction",
        "k-bool",
        "bank-images",
        "mahalanobis-partial",
        "mahalanobis-none",
    ],
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
