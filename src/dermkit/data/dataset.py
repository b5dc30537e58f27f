"""A lazy torch Dataset over a LesionTable, with an optional on-disk cache of preprocessed images.

Decoding happens in DataLoader workers. Artefact removal and resizing (the slow, deterministic
part) can be cached on disk keyed by file identity and preprocessing config, so a second epoch
does not decode full-size JPEGs or re-run hair removal. Random augmentation is applied after the
cache, every time.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from dermkit.data.metadata import encode_metadata
from dermkit.data.records import LesionTable
from dermkit.data.transforms import item_seed
from dermkit.imageio import DECODE_VERSION, read_image, read_mask
from dermkit.preprocess.normalize import to_model_input
from dermkit.preprocess.pipeline import PreprocessConfig, preprocess, preprocess_key

#: A transform takes (image (H,W,3) uint8, mask (H,W) uint8 or None, seed) and returns (image, mask).
PairTransform = Callable[[np.ndarray, np.ndarray | None, int], tuple[np.ndarray, np.ndarray | None]]


class PreprocessCache:
    """Preprocessed image + mask per source file, stored as lossless PNGs under ``root``.

    The key hashes every input that changes the cached value: the image path, size and
    modification time, the same for the mask, the preprocessing config (with its algorithm
    version) and the lesion focus (``extra_key``), so editing a file, fixing a mask or changing
    the config never serves a stale entry.
    """

    def __init__(self, root: str | Path, config: PreprocessConfig, extra_key: str = "") -> None:
        # The decoder's version is part of the key: a reader fix (EXIF, 16-bit, {0,1} masks) changes pixels.
        key = f"{preprocess_key(config)}-d{DECODE_VERSION}" + (f"-{extra_key}" if extra_key else "")
        self.root = Path(root) / key
        self.root.mkdir(parents=True, exist_ok=True)

    def _key(self, image_path: str, mask_path: str | None) -> str:
        ident = f"{_file_identity(image_path)}|{_file_identity(mask_path) if mask_path is not None else None}"
        return hashlib.sha1(ident.encode()).hexdigest()

    def get(self, image_path: str, mask_path: str | None) -> tuple[np.ndarray, np.ndarray | None] | None:
        base = self.root / self._key(image_path, mask_path)
        if not os.path.exists(str(base) + ".png"):  # a miss; cv2.imread would log a warning
            return None
        img = cv2.imread(str(base) + ".png", cv2.IMREAD_COLOR)
        if img is None:
            return None
        mask = None
        if mask_path is not None:
            mask = cv2.imread(str(base) + "_mask.png", cv2.IMREAD_GRAYSCALE)
            if mask is None:
                return None
            mask = (mask > 0).astype(np.uint8)
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB), mask

    def put(self, image_path: str, mask_path: str | None, image: np.ndarray, mask: np.ndarray | None) -> None:
        base = self.root / self._key(image_path, mask_path)
        # Write to a temporary name then rename: a worker killed mid-write leaves no half file.
        if mask is not None:
            _atomic_png(Path(str(base) + "_mask.png"), mask * 255)
        _atomic_png(Path(str(base) + ".png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))


def _file_identity(path: str) -> str:
    """path|size|mtime: changes whenever the file is replaced or edited."""
    st = os.stat(path)
    return f"{path}|{st.st_size}|{st.st_mtime_ns}"


def _atomic_png(path: Path, array: np.ndarray) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp.png")
    cv2.imwrite(str(tmp), array)
    os.replace(tmp, path)


class LesionDataset(Dataset):
    """Images (and masks, labels, metadata) of a table's rows, decoded on access.

    Each item is a dict of tensors:
        ``image`` (C, H, W) float32 (normalised by ``normalize``), ``mask`` (1, H, W) float32 in
        {0, 1} (zeros, with ``has_mask`` 0, when there is none), ``label`` int64 (-1 if
        unlabelled), ``meta`` (METADATA_DIM,) float32, ``index`` (row position in the table).

    Args:
        table: the data set.
        indices: rows to serve (positions in ``table``; repeats allowed, for over-sampling).
        preprocess_config: artefact removal and resizing applied before augmentation.
        transform: random augmentation on (image, mask) pairs, after the cache.
        normalize: (mean, std) per input channel on the [0, 1] scale; one entry each means the
            model takes grey images, and images are converted to grey (ITU-R 601 luma).
        cache_dir: where to cache preprocessed images; None disables the cache.
        load_masks: read masks (segmentation); classification can skip them.
        focus: applied to the decoded image before preprocessing (segment-then-classify); its
            ``key`` attribute becomes part of the cache key.
        seed: base of the per-item augmentation seeds; call :meth:`set_epoch` every epoch.
    """

    def __init__(
        self,
        table: LesionTable,
        indices: np.ndarray | None = None,
        preprocess_config: PreprocessConfig | None = None,
        transform: PairTransform | None = None,
        normalize: tuple[tuple[float, ...], tuple[float, ...]] = ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),
        cache_dir: str | Path | None = None,
        load_masks: bool = True,
        seed: int = 0,
        focus: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> None:
        self.table = table
        self.indices = np.arange(len(table)) if indices is None else np.asarray(indices, dtype=np.int64)
        self.config = preprocess_config or PreprocessConfig()
        self.transform = transform
        self.mean = np.asarray(normalize[0], dtype=np.float32)
        self.std = np.asarray(normalize[1], dtype=np.float32)
        self.focus = focus
        focus_key = getattr(focus, "key", "focus") if focus is not None else ""
        self.cache = PreprocessCache(cache_dir, self.config, focus_key) if cache_dir is not None else None
        self.load_masks = load_masks
        self.labels = table.label_indices()
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch's augmentation seeds (before creating the DataLoader iterator)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.indices)

    def load(self, row: int) -> tuple[np.ndarray, np.ndarray | None]:
        """Decoded and preprocessed (image, mask) of table row ``row`` (no augmentation)."""
        rec = self.table.records.iloc[row]
        mask_path = rec["mask_path"] if self.load_masks else None
        if self.cache is not None:
            hit = self.cache.get(rec["image_path"], mask_path)
            if hit is not None:
                return hit
        image = read_image(rec["image_path"])
        mask = read_mask(mask_path, expected_hw=image.shape[:2]) if mask_path is not None else None
        if self.focus is not None:
            image = self.focus(image)
            mask = None  # the focus changes geometry; classification does not use masks
        out = preprocess(image, self.config, mask=mask)
        if self.cache is not None:
            self.cache.put(rec["image_path"], mask_path, out.image, out.mask)
        return out.image, out.mask

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        row = int(self.indices[i])
        image, mask = self.load(row)
        if self.transform is not None:
            image, mask = self.transform(image, mask, item_seed(self.seed, self.epoch, i))
        x = to_model_input(image, self.mean, self.std)
        has_mask = mask is not None
        m = mask if has_mask else np.zeros(image.shape[:2], dtype=np.uint8)
        return {
            "image": torch.from_numpy(x),  # (C, H, W)
            "mask": torch.from_numpy(np.ascontiguousarray(m, dtype=np.float32))[None],  # (1, H, W)
            "has_mask": torch.tensor(float(has_mask)),
            "label": torch.tensor(int(self.labels[row]), dtype=torch.long),
            "meta": torch.from_numpy(encode_metadata(self.table.metadata(row))),
            "index": torch.tensor(row, dtype=torch.long),
        }
