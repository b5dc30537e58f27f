"""Perceptual hashes find re-encoded copies and ignore different images."""

from __future__ import annotations

import numpy as np
from PIL import Image

from dermkit.data.hashing import file_digest, image_fingerprints, near_duplicate_pairs


def test_near_duplicates_found(tmp_path):
    rng = np.random.default_rng(0)
    base = (rng.random((8, 8, 3)) * 255).astype(np.uint8)
    img = np.asarray(Image.fromarray(base).resize((128, 96), Image.BILINEAR))
    other = np.asarray(Image.fromarray((rng.random((8, 8, 3)) * 255).astype(np.uint8)).resize((128, 96)))
    Image.fromarray(img).save(tmp_path / "a.png")
    Image.fromarray(img).save(tmp_path / "b.jpg", quality=70)  # re-encoded copy
    Image.fromarray(img).resize((64, 48)).save(tmp_path / "c.png")  # resized copy
    Image.fromarray(other).save(tmp_path / "d.png")
    (tmp_path / "e.jpg").write_text("not an image")
    paths = [str(tmp_path / n) for n in ("a.png", "b.jpg", "c.png", "d.png", "e.jpg")]
    hashes, thumbs, valid = image_fingerprints(paths)
    assert valid.tolist() == [True, True, True, True, False]
    pairs = {(i, j) for i, j, _ in near_duplicate_pairs(hashes, valid, thumbs=thumbs)}
    assert pairs == {(0, 1), (0, 2), (1, 2)}
    assert file_digest(paths[0]) != file_digest(paths[2])
