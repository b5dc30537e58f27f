"""Exact and perceptual image fingerprints, to find duplicate images that would leak across splits."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import imagehash
import numpy as np
from PIL import Image

#: Hamming distance (of 64 bits) at or below which two perceptual hashes count as near-duplicates.
#: Re-encoded or resized copies of one image land at 0-4; distinct lesions rarely go below 10.
NEAR_DUPLICATE_BITS = 6


def file_digest(path: str | Path) -> str:
    """SHA-1 of the file bytes (exact duplicates)."""
    return hashlib.sha1(Path(path).read_bytes()).hexdigest()


def perceptual_hash(image: Image.Image | np.ndarray) -> int:
    """64-bit DCT perceptual hash (imagehash.phash) as an unsigned integer."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    bits = imagehash.phash(image).hash.flatten()
    return int(np.packbits(bits).view(">u8")[0])


def _hash_file(path: str) -> int | None:
    try:
        with Image.open(path) as img:
            img.load()
            return perceptual_hash(img)
    except (OSError, ValueError, SyntaxError):
        return None  # unreadable files are reported by the reader checks, not here


def perceptual_hashes(
    paths: list[str], workers: int = 4, progress: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Perceptual hash per file as uint64 (0 with ``valid`` False for unreadable files).

    Returns:
        (N,) uint64 hashes; unreadable files get hash 0 and are excluded by
        :func:`near_duplicate_pairs` through the ``valid`` mask it takes.
    """
    from tqdm.auto import tqdm

    with ThreadPoolExecutor(max_workers=workers) as pool:
        it = pool.map(_hash_file, paths, chunksize=32)
        out = list(tqdm(it, total=len(paths), desc="hashing images", disable=not progress, leave=False))
    return np.array([0 if h is None else h for h in out], dtype=np.uint64), np.array(
        [h is not None for h in out], dtype=bool
    )


def near_duplicate_pairs(
    hashes: np.ndarray, valid: np.ndarray | None = None, max_bits: int = NEAR_DUPLICATE_BITS, chunk: int = 2048
) -> list[tuple[int, int, int]]:
    """All index pairs (i < j) whose hashes differ in at most ``max_bits`` bits.

    Args:
        hashes: (N,) uint64 perceptual hashes.
        valid: (N,) bool; pairs involving invalid entries are skipped.
        max_bits: Hamming-distance threshold.
        chunk: rows compared at once (memory is chunk x N bytes).

    Returns:
        list of (i, j, distance).
    """
    hashes = np.asarray(hashes, dtype=np.uint64)
    n = len(hashes)
    ok = np.ones(n, dtype=bool) if valid is None else np.asarray(valid, dtype=bool)
    pairs: list[tuple[int, int, int]] = []
    for start in range(0, n, chunk):
        block = hashes[start : start + chunk, None] ^ hashes[None, :]  # (b, N)
        dist = np.bitwise_count(block)
        ii, jj = np.nonzero(dist <= max_bits)
        ii = ii + start
        keep = (ii < jj) & ok[ii] & ok[jj]
        pairs.extend((int(i), int(j), int(dist[i - start, j])) for i, j in zip(ii[keep], jj[keep]))
    return pairs
