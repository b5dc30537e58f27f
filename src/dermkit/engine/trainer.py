"""The training loop shared by segmentation and classification.

Task specifics (model, loss, metrics, which data is needed) live in :mod:`dermkit.engine.tasks`;
this module owns what every run needs: seeding, device, optimiser and schedule, the epoch loop
with progress and a NaN guard, early stopping, checkpoints and exact resume, the run folder.

Determinism: the order of training samples and every augmentation are functions of
(seed, epoch, position); dropout draws from torch's generator re-seeded at each epoch start (and
restored from the checkpoint mid-epoch). A resumed run therefore replays exactly what an
uninterrupted run would have done, on the CPU bit for bit.
"""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import shutil
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from pydantic import ValidationError
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from dermkit.checkpoint import Checkpoint, TrainingState, load_checkpoint, save_checkpoint
from dermkit.config import RunConfig, dump_config
from dermkit.data.splits import load_split
from dermkit.data.transforms import STREAM_ORDER, STREAM_TORCH, item_seed
from dermkit.device import resolve_device, seed_everything, to_device
from dermkit.engine.averaging import build_ema
from dermkit.engine.checks import check_recipe
from dermkit.engine.data import FINGERPRINT_FILE, PreparedData
from dermkit.engine.distributed import DistributedContext, current, quiet_other_ranks, run_on_main, run_on_main_first
from dermkit.engine.plots import plot_curves
from dermkit.engine.precision import Precision, resolve_precision
from dermkit.engine.rundir import (
    LOCK_FILE,
    RESUME_MAY_CHANGE,
    RUN_MARKER,
    RunLock,
    attach_log,
    check_resume_config,
    claim_run_dir,
    config_differences,
    environment,
)
from dermkit.engine.tasks import create_task
from dermkit.errors import DataError, DataProblems, DermkitError
from dermkit.files import write_json

log = logging.getLogger("dermkit.engine")


class TrainingDiverged(DataProblems):
    """The loss became NaN or infinite."""


@dataclass
class LoopState:
    """Where the loop is; saved in every checkpoint."""

    epoch: int = 0  # epoch being trained (or next to train)
    batch: int = 0  # batches of ``epoch`` already done (mid-epoch checkpoints)
    step: int = 0  # optimiser steps so far
    best: float | None = None
    best_epoch: int | None = None
    bad_epochs: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    running_loss: float = 0.0  # sum of loss x images over the epoch's batches so far
    running_images: int = 0  # images in those batches (train_loss = running_loss / running_images)


def epoch_batches(n: int, batch_size: int, seed: int, epoch: int, weights: np.ndarray | None = None) -> list[list[int]]:
    """The epoch's batches of dataset positions: a shuffle (or a weighted draw) fixed by (seed, epoch)."""
    gen = torch.Generator().manual_seed(item_seed(seed, epoch, 0, STREAM_ORDER))
    if weights is None:
        order = torch.randperm(n, generator=gen).tolist()
    else:
        order = torch.multinomial(torch.as_tensor(weights, dtype=torch.double), n, True, generator=gen).tolist()
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def build_optimizer(cfg: RunConfig, params) -> torch.optim.Optimizer:
    o = cfg.optim
    if o.name == "adam":
        return torch.optim.Adam(params, lr=o.lr, weight_decay=o.weight_decay)
    if o.name == "adamw":
        return torch.optim.AdamW(params, lr=o.lr, weight_decay=o.weight_decay)
    return torch.optim.SGD(params, lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay)


def build_scheduler(cfg: RunConfig, optimizer: torch.optim.Optimizer, mode: str):
    s = cfg.schedule
    if s.name == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer,
            mode=mode,
            factor=s.factor,
            patience=s.patience,
            threshold=s.threshold,
            threshold_mode="abs",
            min_lr=s.min_lr,
        )
    if s.name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=cfg.train.epochs, eta_min=s.min_lr)
    return None


def _to_device(
    batch: dict[str, torch.Tensor], device: torch.device, memory_format: torch.memory_format = torch.contiguous_format
) -> dict[str, torch.Tensor]:
    out = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
    out["image"] = out["image"].contiguous(memory_format=memory_format)
    return out


class HardInterrupt(KeyboardInterrupt):
    """A second Ctrl-C, possibly in the middle of an optimiser step: nothing is saved."""


#: Under torchrun one Ctrl-C reaches a process twice (from the terminal, then forwarded by torchrun's
#: agent); signals this close to the first count as the same one.
SAME_CTRL_C_SECONDS = 2.0


@contextlib.contextmanager
def _deferred_interrupt(debounce: float = 0.0):
    """While active, a first Ctrl-C (SIGINT) only sets a flag that the loop checks between
    optimiser steps, so an interrupted run saves a consistent state; a second one (more than
    ``debounce`` seconds later) interrupts at once. Outside the main thread (where signals cannot be
    handled) this does nothing."""
    hit = {"n": 0, "first": 0.0}
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return

    def handler(signum, frame):
        now = time.monotonic()
        if hit["n"] and now - hit["first"] <= debounce:
            return
        hit["n"] += 1
        hit["first"] = hit["first"] or now
        if hit["n"] > 1:
            raise HardInterrupt

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield lambda: hit["n"] > 0
    finally:
        signal.signal(signal.SIGINT, previous)


def check_same_split(run_dir: Path, split: pd.DataFrame) -> None:
    """On resume, the data must fall on the same sides as when the run started (``RUN/split.csv``)."""
    path = Path(run_dir) / "split.csv"
    if not path.exists():
        return
    saved = dict(zip(*(load_split(path)[c].astype(str) for c in ("image_id", "split")), strict=True))
    now = dict(zip(*(split[c].astype(str) for c in ("image_id", "split")), strict=True))
    moved = sorted(i for i in set(saved) | set(now) if saved.get(i) != now.get(i))
    if moved:
        raise DataError(
            f"{path}: resuming would put {len(moved)} images on other sides than the run was trained with "
            f"(e.g. {', '.join(moved[:5])}); the split file, the data or the data check changed. Resume with the "
            "run's own data and split, or start a new run."
        )


def check_checkpoint_belongs(ckpt: Checkpoint, saved: RunConfig, path: Path) -> None:
    """Refuse to resume from a checkpoint of another run: its task, model and config must be the
    run's (``config.yaml``), up to the keys a resume may change."""
    if ckpt.training is None:
        raise DermkitError(f"{path}: holds weights only, no training state to resume from")
    if ckpt.task != saved.task or ckpt.model_name != saved.model.name:
        raise DermkitError(
            f"{path}: a {ckpt.task} checkpoint of model {ckpt.model_name!r}, but this run trains "
            f"{saved.task} model {saved.model.name!r}; it is not this run's checkpoint"
        )
    try:
        own = RunConfig.model_validate(ckpt.config)
    except ValidationError:
        raise DermkitError(f"{path}: its config is not valid for this dermkit; it cannot be resumed") from None
    changed = config_differences(own, saved, ignore=RESUME_MAY_CHANGE)
    if changed:
        raise DermkitError(
            f"{path} was written by a run configured otherwise than config.yaml "
            f"({'; '.join(changed[:5])}); it is not this run's checkpoint"
        )


def _remove_if_only(folder: Path, names: set[str], handler: logging.Handler) -> None:
    """Delete ``folder`` when it holds nothing but ``names`` (the run folder of a run that never started)."""
    if {p.name for p in folder.iterdir()} <= names:
        handler.close()
        shutil.rmtree(folder, ignore_errors=True)


class Trainer:
    """Trains one model for one config into one run folder.

    Nothing is written before the recipe is checked (model and loss names, input size) and, on
    resume, before the new config and the data are compared with the run's own: a refused
    resume leaves the run folder as it was. The run folder is locked while training.

    Args:
        cfg: the resolved run config.
        run_dir: the run folder (created).
        resume: continue from ``run_dir/checkpoints/last.pt``.
        progress: show tqdm bars.
        on_epoch_end: called with each epoch's metrics row (``epoch``, ``train_loss``, ``val_*``...) once
            that epoch's checkpoints and history are saved, e.g. to report to a hyper-parameter search;
            an exception it raises stops training there (``fit`` re-raises it; the run stays resumable).
    """

    def __init__(
        self,
        cfg: RunConfig,
        run_dir: str | Path,
        resume: bool = False,
        progress: bool = True,
        on_epoch_end: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        check_recipe(cfg)
        self.cfg = cfg
        self.run_dir = Path(run_dir)
        self.resume = resume
        self.progress = progress
        self.on_epoch_end = on_epoch_end
        self.dist: DistributedContext
        self.dist, self.device = current(resolve_device(cfg.train.device))
        # Under torchrun, rank 0's folder (a default name has the second it was made in, which may differ).
        self.run_dir = Path(self.dist.broadcast(str(self.run_dir)))
        self.precision: Precision = resolve_precision(cfg.train, self.device)
        self.task = create_task(cfg)
        self.state = LoopState()

    @property
    def is_main(self) -> bool:
        """Whether this process writes the run folder (always, but for ranks > 0 under torchrun)."""
        return self.dist.is_main

    # -- set-up -----------------------------------------------------------------------------
    def _setup(self, prepared: PreparedData | None = None) -> None:
        """Check the resume, prepare the data (or adopt ``prepared``, rank 0's), build model and optimiser."""
        cfg = self.cfg
        expect = None
        resume_from = None
        if self.resume:
            last = self.run_dir / "checkpoints" / "last.pt"
            if not last.exists():
                raise DermkitError(
                    f"{self.run_dir}: nothing to resume (no checkpoints/last.pt); start it without --resume"
                )
            saved = check_resume_config(self.run_dir, cfg)
            resume_from = load_checkpoint(last, map_location=self.device)
            check_checkpoint_belongs(resume_from, saved, last)
            fingerprint = self.run_dir / FINGERPRINT_FILE
            if fingerprint.exists():
                expect = json.loads(fingerprint.read_text())
            else:
                log.warning(
                    "%s: run has no %s (made before data fingerprints); its data cannot be compared",
                    self.run_dir,
                    FINGERPRINT_FILE,
                )
        elif (self.run_dir / "checkpoints" / "last.pt").exists():
            raise DermkitError(
                f"{self.run_dir} already holds a run; resume it (`--resume`, or resume=True) or choose another folder"
            )
        seed_everything(cfg.train.seed)
        if prepared is None:
            self.data = self.task.prepare(self.run_dir, expect_fingerprint=expect)
        else:
            self.data = prepared
            self.task.adopt(prepared)
        if self.resume:
            check_same_split(self.run_dir, self.data.split)
        self.memory_format = torch.channels_last if cfg.train.channels_last else torch.contiguous_format
        self.model = to_device(self.task.build_model(), self.device, self.memory_format == torch.channels_last)
        self.ema = build_ema(self.model, cfg.train.ema)
        self.train_set, self.sample_weights = self.task.train_dataset(self.data)
        self.val_set = self.task.eval_dataset(self.data, "val")
        self.loss_fn = self.task.build_loss(self.data).to(self.device)
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = build_optimizer(cfg, params)
        self.mode = self.task.monitor_mode(cfg.monitor)
        self.scheduler = build_scheduler(cfg, self.optimizer, self.mode)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.precision.loss_scaling)
        if resume_from is not None:
            self._restore(resume_from, self.run_dir / "checkpoints" / "last.pt")
        if self.is_main:  # everything is checked: only now is the run's record (re)written
            self.data.write(self.run_dir)
            (self.run_dir / "config.yaml").write_text(dump_config(cfg))
            self._write_environment()

    @property
    def eval_model(self) -> torch.nn.Module:
        """The weights that are validated and saved: their average under ``train.ema``, else the live ones."""
        return self.model if self.ema is None else self.ema.module

    def _loader(self, dataset, batches: list[list[int]] | None = None, batch_size: int | None = None) -> DataLoader:
        workers = self.cfg.data.num_workers
        # A private generator: creating an iterator would otherwise draw from torch's global RNG
        # and shift dropout after a mid-epoch resume. Worker seeds do not matter (augmentation
        # seeds are explicit), so a constant is fine.
        common = dict(
            num_workers=workers,
            pin_memory=self.device.type == "cuda",
            persistent_workers=False,
            generator=torch.Generator().manual_seed(self.cfg.train.seed),
        )
        if batches is not None:
            return DataLoader(dataset, batch_sampler=batches, **common)
        return DataLoader(dataset, batch_size=batch_size, shuffle=False, **common)

    # -- checkpoints ------------------------------------------------------------------------
    def _checkpoint(self) -> Checkpoint:
        training = TrainingState(
            optimizer=self.optimizer.state_dict(),
            scheduler=self.scheduler.state_dict() if self.scheduler is not None else None,
            scaler=self.scaler.state_dict(),
            loop=asdict(self.state),
            torch_rng=torch.get_rng_state(),
            rank_rngs=self.dist.gather(torch.get_rng_state()) if self.dist.enabled else None,
            train_weights=None if self.ema is None else self.model.state_dict(),
        )
        # The input scaling the weights were trained with is stored because a model rebuilt
        # without its pretrained source would not know it.
        return Checkpoint(
            task=self.cfg.task,
            config=self.cfg.model_dump(mode="json"),
            model_name=self.cfg.model.name,
            model_kwargs=self.task.model_kwargs(),
            classes=tuple(self.data.table.classes),
            mean=tuple(self.task.normalize[0]),
            std=tuple(self.task.normalize[1]),
            weights=self.eval_model.state_dict(),
            training=training,
        )

    def _restore(self, ckpt: Checkpoint, path: Path) -> None:
        """Continue from ``ckpt`` (already checked to belong to this run by :func:`check_checkpoint_belongs`)."""
        t = ckpt.training
        try:
            self.model.load_state_dict(ckpt.weights if t.train_weights is None else t.train_weights)
            if self.ema is not None:
                self.ema.module.load_state_dict(ckpt.weights)
            self.optimizer.load_state_dict(t.optimizer)
            if self.scheduler is not None and t.scheduler is not None:
                self.scheduler.load_state_dict(t.scheduler)
            self.scaler.load_state_dict(t.scaler)
            self.state = LoopState(**t.loop)
        except (RuntimeError, ValueError, KeyError, TypeError) as exc:
            raise DermkitError(
                f"{path}: the training state does not fit this run's model and optimiser "
                f"({str(exc).splitlines()[0]}); it is not this run's checkpoint"
            ) from None
        torch.set_rng_state(self._own_rng(t).cpu())
        log.info("resumed from %s at epoch %d, batch %d", path, self.state.epoch + 1, self.state.batch)

    def _own_rng(self, t: TrainingState) -> torch.Tensor:
        """This rank's saved torch RNG state (rank 0's, or a single process's, is ``torch_rng``)."""
        if not self.dist.enabled or self.dist.is_main:
            return t.torch_rng
        if t.rank_rngs is not None and len(t.rank_rngs) == self.dist.world_size:
            return t.rank_rngs[self.dist.rank]
        if self.state.batch:  # at an epoch start the RNG is re-seeded anyway
            log.warning(
                "the checkpoint was written by %s process(es), this run has %d: dropout after this mid-epoch "
                "resume differs from an uninterrupted run",
                len(t.rank_rngs) if t.rank_rngs else 1,
                self.dist.world_size,
            )
        return t.torch_rng

    def _write_environment(self) -> None:
        """RUN/environment.json: the first start's record; each resume is appended under ``resumes``."""
        path = self.run_dir / "environment.json"
        env = environment(self.cfg.train.seed, str(self.device))
        env["precision"] = self.precision.name
        env["processes"] = self.dist.world_size
        if self.dist.enabled:
            env["distributed"] = {
                "backend": self.dist.backend,
                "world_size": self.dist.world_size,
                "global_batch": self.cfg.train.batch_size,
                "batch_per_process": -(-self.cfg.train.batch_size // self.dist.world_size),
            }
        if self.resume and path.exists():
            try:
                first = json.loads(path.read_text())
            except (OSError, json.JSONDecodeError):
                first = {"unreadable_before_resume": True}
            first.setdefault("resumes", []).append(env)
            env = first
        write_json(path, env)

    def _save(self, name: str) -> None:
        """Write a checkpoint (rank 0); under torchrun every rank calls this at the same step, because
        the checkpoint gathers each rank's RNG state."""
        checkpoint = self._checkpoint()
        if self.is_main:
            save_checkpoint(self.run_dir / "checkpoints" / name, checkpoint)

    # -- the loop ---------------------------------------------------------------------------
    def fit(self) -> dict[str, Any]:
        """Train, select the best epoch on validation, evaluate it; returns final metrics.

        Ctrl-C (KeyboardInterrupt) during an epoch saves ``checkpoints/last.pt`` at the last
        finished batch before it propagates, so ``--resume`` continues from there exactly.
        """
        quiet_other_ranks(self.dist)
        with contextlib.ExitStack() as stack:
            # Rank 0 checks and splits the data; the other ranks set up on what it found.
            run_on_main_first(self.dist, lambda: self._begin(stack), self._setup, "the run's set-up")
            # The same weights on every rank (seeded alike, and DDP broadcasts rank 0's, a collective: so only
            # once every rank is set up); ``self.model`` stays the bare network (evaluation, checkpoints).
            self.train_model = self.dist.wrap(self.model, self.device, self.cfg.train.sync_batchnorm)
            self.model = getattr(self.train_model, "module", self.model)
            while self.state.epoch < self.cfg.train.epochs:
                if self._train_epoch():
                    break
            return run_on_main(self.dist, self._finish, "the final evaluation")

    def _begin(self, stack: contextlib.ExitStack) -> PreparedData:
        """Claim and lock the run folder, attach its log and set up (rank 0); returns the prepared data."""
        created = not self.run_dir.exists()
        if self.run_dir.exists() and not self.run_dir.is_dir():
            raise DermkitError(f"{self.run_dir}: is an existing file, not a folder; give a folder for the run")
        claim_run_dir(self.run_dir)  # before the lock: a user's folder is refused untouched
        stack.enter_context(RunLock(self.run_dir))
        handler = attach_log(self.run_dir)
        stack.callback(handler.close)
        stack.callback(logging.getLogger("dermkit").removeHandler, handler)
        try:
            self._setup()
        except DermkitError:
            if created:  # a folder this call made and nothing worth keeping went into: take it away
                _remove_if_only(self.run_dir, {RUN_MARKER, LOCK_FILE, "train.log"}, handler)
            raise
        return self.data

    def _train_epoch(self) -> bool:
        """One epoch (possibly resumed mid-way); returns True when early stopping fires."""
        cfg, st = self.cfg, self.state
        epoch = st.epoch
        batches = epoch_batches(len(self.train_set), cfg.train.batch_size, cfg.train.seed, epoch, self.sample_weights)
        if cfg.train.max_batches_per_epoch:
            batches = batches[: cfg.train.max_batches_per_epoch]
        if self.dist.enabled:  # a last batch with fewer images than processes would leave a rank without one
            batches = [b for b in batches if len(b) >= self.dist.world_size]
        if st.batch == 0:  # a mid-epoch resume restored the torch RNG from its checkpoint instead
            # dropout etc. fixed per epoch (and per process under torchrun; rank 0 = one process's)
            torch.manual_seed(item_seed(cfg.train.seed, epoch, self.dist.rank, STREAM_TORCH))
        self.train_set.set_epoch(epoch)
        done = st.batch
        self.model.train()
        t0 = time.perf_counter()
        if st.batch == 0:
            st.running_loss, st.running_images = 0.0, 0
        bar = tqdm(
            total=len(batches),
            initial=done,
            desc=f"epoch {epoch + 1}/{cfg.train.epochs}",
            disable=not (self.progress and self.is_main),
            leave=False,
            dynamic_ncols=True,
        )
        try:
            self._train_batches(batches, bar)
        except HardInterrupt:
            bar.close()
            log.info("interrupted twice at epoch %d; checkpoints/last.pt is the last saved state", epoch + 1)
            raise
        except KeyboardInterrupt:
            bar.close()
            self._save("last.pt")
            log.info(
                "interrupted at epoch %d, batch %d; the state is in %s",
                epoch + 1,
                st.batch,
                self.run_dir / "checkpoints" / "last.pt",
            )
            raise
        bar.close()
        metrics = {
            "epoch": epoch + 1,
            "lr": self.optimizer.param_groups[0]["lr"],
            "train_loss": st.running_loss / max(st.running_images, 1),
        }
        if len(self.val_set):
            metrics.update(run_on_main(self.dist, self._validate, "validation"))
        metrics["seconds"] = round(time.perf_counter() - t0, 2)
        stop = self._end_epoch(metrics)
        return stop

    def _validate(self) -> dict[str, float]:
        loader = self._loader(self.val_set, batch_size=self.cfg.train.batch_size)
        with self.precision.autocast():
            return self.task.evaluate(self.eval_model, loader, self.loss_fn, self.device, prefix="val_")

    def _train_batches(self, batches: list[list[int]], bar) -> None:
        """The optimiser steps of the epoch's remaining batches (this rank's slice of each)."""
        st = self.state
        mine = [self.dist.shard(b) for b in batches[st.batch :]] if self.dist.enabled else batches[st.batch :]
        debounce = SAME_CTRL_C_SECONDS if self.dist.enabled else 0.0
        with _deferred_interrupt(debounce) as interrupted:
            for batch in self._loader(self.train_set, mine):
                self._step(batch, batches, bar)
                if self.dist.any(interrupted()):  # every rank stops after the same step
                    raise KeyboardInterrupt

    def _step(self, batch, batches: list[list[int]], bar) -> None:
        """One optimiser step on one batch."""
        cfg, st = self.cfg, self.state
        epoch = st.epoch
        batch = _to_device(batch, self.device, self.memory_format)
        with self.precision.autocast():
            loss = self.task.loss(self.train_model, batch, self.loss_fn)
        images = len(batch["index"])
        value = loss.item()
        # One all-reduce under torchrun: the batch's loss over every rank, and whether any diverged.
        nonfinite, loss_sum, images_sum = self.dist.sum(not np.isfinite(value), value * images, images)
        if nonfinite:
            self._save("diverged.pt")
            raise TrainingDiverged(
                f"loss became {value if not np.isfinite(value) else 'NaN or infinite on another process'} at "
                f"epoch {epoch + 1}, batch {st.batch + 1}; the state before this "
                f"step is in {self.run_dir / 'checkpoints' / 'diverged.pt'}. Lower optim.lr, set "
                "train.grad_clip, or check the data for broken images."
            )
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss * self.dist.loss_weight(images, len(batches[st.batch]))).backward()
        if cfg.train.grad_clip:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.train.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        st.batch += 1
        st.step += 1
        if self.ema is not None:
            self.ema.update(self.model, step=st.step)
        st.running_loss += loss_sum
        st.running_images += int(images_sum)
        bar.update(1)
        bar.set_postfix(loss=f"{st.running_loss / st.running_images:.4f}")
        if cfg.train.checkpoint_every and st.step % cfg.train.checkpoint_every == 0 and st.batch < len(batches):
            self._save("last.pt")

    def _end_epoch(self, metrics: dict[str, Any]) -> bool:
        cfg, st = self.cfg, self.state
        monitor, mode = cfg.monitor, self.mode
        if monitor not in metrics:  # no validation side: select on the training loss
            monitor, mode = "train_loss", "min"
        value = metrics[monitor]
        improved = st.best is None or (value > st.best if mode == "max" else value < st.best)
        if improved:
            st.best, st.best_epoch, st.bad_epochs = float(value), metrics["epoch"], 0
        else:
            st.bad_epochs += 1
        if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            self.scheduler.step(value)
        elif self.scheduler is not None:
            self.scheduler.step()
        st.history.append(metrics)
        st.epoch += 1
        st.batch = 0
        if self.is_main:
            self._write_history()
        if improved:
            self._save("best.pt")
        self._save("last.pt")
        shown = " ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in metrics.items())
        log.info("%s%s", shown, " *" if improved else "")
        if self.progress and self.is_main:
            tqdm.write(shown + (" *" if improved else ""))
        if self.on_epoch_end is not None:
            hook = self.on_epoch_end
            run_on_main(self.dist, lambda: hook(dict(metrics)), "the epoch-end hook")
        patience = cfg.train.early_stop_patience
        if patience and st.bad_epochs >= patience:
            log.info("early stop: %s did not improve for %d epochs", monitor, patience)
            return True
        return False

    def _write_history(self) -> None:
        hist = self.state.history
        write_json(self.run_dir / "metrics.json", hist)
        keys = list(dict.fromkeys(k for row in hist for k in row))
        with open(self.run_dir / "metrics.csv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=keys)
            writer.writeheader()
            writer.writerows(hist)
        plot_curves(hist, self.run_dir / "curves.png", self.cfg.monitor)

    def _finish(self) -> dict[str, Any]:
        """Reload the best weights and evaluate them on validation and test."""
        best = self.run_dir / "checkpoints" / "best.pt"
        self.model.load_state_dict(load_checkpoint(best, map_location=self.device).weights)
        # Final metrics, calibration and the OOD fit run in full precision whatever the training used.
        final = {
            "recipe": self.cfg.recipe,
            "best_epoch": self.state.best_epoch,
            "monitor": self.cfg.monitor,
            "best_value": self.state.best,
            "epochs_run": len(self.state.history),
        }
        final.update(self.task.final_metrics(self.model, self.data, self.run_dir, self.device))
        write_json(self.run_dir / "final_metrics.json", final)
        return final


def fit(cfg: RunConfig, run_dir: str | Path, resume: bool = False, progress: bool = True) -> dict[str, Any]:
    """Train ``cfg`` into ``run_dir``; see :class:`Trainer`."""
    return Trainer(cfg, run_dir, resume=resume, progress=progress).fit()
