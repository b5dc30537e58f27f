"""Tuning benchmark: a 20-trial study of the default classifier on synthetic data, 1 vs 2 processes.

The study searches ``cls_default``'s learning rate and weight decay (log-uniform) and its loss's label
smoothing (uniform): the shipped space ``cls_default_small``. Every step is a ``dermkit`` subprocess,
so each pays the same start-up, and every one trains with the same small per-trial budget:

(a) the default recipe once: its validation BMA is the value the study has to beat;
(b) a TPE study with median pruning, all trials in one ``dermkit tune`` process with T threads;
(c) the same study (same seed, its own storage) split over 2 ``dermkit tune`` processes started
    together on one SQLite file, T/2 threads each (the same cores as (b));
(d) the best recipe of (b) and (c), and the default, trained again with ``train.seed=1`` (same split,
    other initialisation, order and augmentation): does the gain found on the validation side hold?

Trial N draws its values with a seed made of the study's seed and N, so (b) and (c) try the same
values in their random start-up trials; after that, TPE follows each study's own history. The best
value is selected on the validation side it reports, hence optimistic: (d) and the test column say
whether it is more than noise.

Data: the demo's synthetic set (600 images of 150x200, seed 0) in ``OUT/synthetic-600``, preprocessed
to 96x128 with the cache in ``OUT/cache`` (filled by (a), so every study reads it warm); no loader
processes (``data.num_workers=0``), so the thread count is the whole CPU use. Per trial: 6 epochs of
at most 8 batches of 32, the recipe's evaluation (flip TTA, calibration, OOD fit) when it completes.

Usage::

    python benchmarks/tune_study.py                              # full: about 14 minutes on 2 free cores
    OMP_NUM_THREADS=1 python benchmarks/tune_study.py --quick    # 3 trials, tiny budget: about a minute

Writes ``OUT/tune_study.json`` (every figure, every trial) and ``OUT/tune_study.md`` (the table),
``OUT/logs/*.log`` (each subprocess's output); OUT is ``runs/bench-tune`` (``runs/bench-tune/quick``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RECIPE = "cls_default"
SPACE = "cls_default_small"
RETRAIN_SEED = 1


@dataclass(frozen=True)
class Budget:
    """How big the data, each trial and the study are."""

    images: int  # synthetic images (150x200, seed 0)
    size: tuple[int, int]  # data.preprocess.size
    epochs: int
    max_batches: int  # train.max_batches_per_epoch (batch 32, the recipe's)
    trials: int
    startup_trials: int  # trials run to the end before the median pruner prunes and TPE models

    def overrides(self, out: Path) -> list[str]:
        """The KEY=VALUE overrides every run and trial of the benchmark trains with."""
        return [
            "data.num_workers=0",
            f"data.cache_dir={json.dumps(str(out / 'cache'))}",
            f"data.preprocess.size=[{self.size[0]}, {self.size[1]}]",
            f"train.epochs={self.epochs}",
            f"train.max_batches_per_epoch={self.max_batches}",
        ]


FULL = Budget(images=600, size=(96, 128), epochs=6, max_batches=8, trials=20, startup_trials=5)
QUICK = Budget(images=150, size=(64, 80), epochs=2, max_batches=2, trials=3, startup_trials=1)


def synthetic_data(out: Path, n: int) -> Path:
    """The demo's synthetic data set (``n`` images, seed 0), written once into ``out/synthetic-n``."""
    from dermkit.data.synthetic import write_synthetic_dataset

    root = out / f"synthetic-{n}"
    if not (root / ".complete").exists():
        write_synthetic_dataset(root, n=n, seed=0)
        (root / ".complete").touch()
    return root


def _env(threads: int) -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}


def _dermkit(args: list[str], threads: int, log: Path) -> subprocess.Popen:
    """Start ``dermkit ARGS`` with ``threads`` torch threads, its output to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    handle = log.open("w")
    cmd = [sys.executable, "-m", "dermkit", *args]
    handle.write(f"$ OMP_NUM_THREADS={threads} {' '.join(cmd)}\n")
    handle.flush()
    return subprocess.Popen(cmd, env=_env(threads), stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT)


def run_all(processes: list[tuple[subprocess.Popen, Path]]) -> None:
    """Wait for every process; a failure stops the benchmark with the end of its log."""
    for proc, log in processes:
        if proc.wait() != 0:
            tail = "\n".join(log.read_text().splitlines()[-15:])
            raise SystemExit(f"{' '.join(map(str, proc.args))} failed (exit {proc.returncode}); {log}:\n{tail}")


def timed(processes: list[tuple[subprocess.Popen, Path]], t0: float) -> float:
    """Wall seconds from ``t0`` until the last of ``processes`` has exited."""
    run_all(processes)
    return time.perf_counter() - t0


def train(data: Path, out: Path, run: str, overrides: list[str], threads: int, config: str | Path = RECIPE) -> dict:
    """``dermkit train cls`` into ``out/run``; returns its final metrics with its wall seconds."""
    t0 = time.perf_counter()
    args = ["train", "cls", "--config", str(config), "--data", str(data), "--out", str(out / run), *overrides]
    seconds = timed([(_dermkit(args, threads, out / "logs" / f"{run}.log"), out / "logs" / f"{run}.log")], t0)
    final = json.loads((out / run / "final_metrics.json").read_text())
    return {**final, "seconds": seconds, "threads": threads}


def study(
    data: Path, out: Path, name: str, budget: Budget, overrides: list[str], processes: int, threads: int
) -> dict[str, Any]:
    """One study of ``budget.trials`` trials run by ``processes`` ``dermkit tune`` processes started together."""
    folder = out / name
    storage = f"sqlite:///{(folder / 'study.db').absolute()}"
    args = ["tune", "--config", RECIPE, "--space", SPACE, "--trials", str(budget.trials)]
    args += ["--startup-trials", str(budget.startup_trials), "--sampler", "tpe", "--pruner", "median", "--seed", "0"]
    args += ["--study", name, "--storage", storage, "--out", str(folder), "--data", str(data), *overrides]
    t0 = time.perf_counter()
    logs = [out / "logs" / f"{name}-{i}.log" for i in range(processes)]
    seconds = timed([(_dermkit(args, threads, log), log) for log in logs], t0)
    return {
        "study": name,
        "processes": processes,
        "threads_each": threads,
        "seconds": seconds,
        **describe(storage, name),
    }


def describe(storage: str, name: str) -> dict[str, Any]:
    """Trials, states, epochs, the best trial (params, run folder, its test BMA) of a finished study."""
    import optuna
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    trials = optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False)
    rows = [
        {
            "number": t.number,
            "state": t.state.name.lower(),
            "value": t.value,
            "epochs": len(t.intermediate_values),
            "seconds": t.duration.total_seconds() if t.duration else None,
            "process": t.user_attrs.get("process"),
            "params": t.params,
        }
        for t in trials
    ]
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    best = max(complete, key=lambda t: t.value) if complete else None  # val_bma: higher is better
    record: dict[str, Any] = {
        "trials": len(trials),
        "complete": len(complete),
        "pruned": sum(t.state == TrialState.PRUNED for t in trials),
        "failed": sum(t.state == TrialState.FAIL for t in trials),
        "epochs_trained": sum(r["epochs"] for r in rows),
        "trials_per_process": _count(r["process"] for r in rows),
        "trial_list": rows,
        "best": None,
    }
    if best is not None:
        final = json.loads((Path(best.user_attrs["run_dir"]) / "final_metrics.json").read_text())
        record["best"] = {
            "trial": best.number,
            "value": best.value,
            "params": best.params,
            "test_bma": final["test"]["bma"],
        }
    return record


def _count(values) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[str(value)] = counts.get(str(value), 0) + 1
    return counts


def _params(params: dict[str, float]) -> str:
    short = {"optim.lr": "lr", "optim.weight_decay": "wd", "loss.kwargs.label_smoothing": "ls"}
    return ", ".join(f"{short.get(k, k)}={v:.3g}" for k, v in params.items())


def table(result: dict[str, Any]):
    """The figures as a :class:`dermkit.bench.BenchTable`."""
    from dermkit.bench import BenchTable

    default = result["default"]
    base = default["best_value"]
    rows = [
        {
            "run": "default recipe (seed 0)",
            "processes x threads": f"1 x {default['threads']}",
            "trials (complete/pruned)": "1",
            "epochs trained": default["epochs_run"],
            "wall s": default["seconds"],
            "best val_bma": base,
            "vs default": "",
            "test bma": default["test"]["bma"],
            "best params": "lr=0.001, wd=0.0001, ls=0.05",
        }
    ]
    for key in ("one_process", "two_processes"):
        s = result[key]
        best = s["best"] or {}
        rows.append(
            {
                "run": f"TPE + median pruning, {s['processes']} process{'es' if s['processes'] > 1 else ''}",
                "processes x threads": f"{s['processes']} x {s['threads_each']}",
                "trials (complete/pruned)": f"{s['trials']} ({s['complete']}/{s['pruned']})",
                "epochs trained": s["epochs_trained"],
                "wall s": s["seconds"],
                "best val_bma": best.get("value", ""),
                "vs default": f"{best['value'] - base:+.3f}" if best else "",
                "test bma": best.get("test_bma", ""),
                "best params": f"trial {best['trial']}: {_params(best['params'])}" if best else "no trial completed",
            }
        )
    for name, run in result.get("retrain", {}).items():
        rows.append(
            {
                "run": f"{name}, again with train.seed={RETRAIN_SEED}",
                "processes x threads": f"1 x {run['threads']}",
                "trials (complete/pruned)": "1",
                "epochs trained": run["epochs_run"],
                "wall s": run["seconds"],
                "best val_bma": run["best_value"],
                "vs default": "",
                "test bma": run["test"]["bma"],
                "best params": "",
            }
        )
    one, two = result["one_process"], result["two_processes"]
    m = result["machine"]
    notes = [
        f"{result['date']}, {m['cpus']} CPUs ({m['processor']}), Python {m['python']}, torch {m['torch']}, "
        f"optuna {m['optuna']}; quick={result['quick']}.",
        f"Data: {result['budget']['images']} synthetic images (seed 0), preprocessed to "
        f"{result['budget']['size'][0]}x{result['budget']['size'][1]}; 70/15/15 lesion-grouped split (split seed 0).",
        f"Per trial: {result['budget']['epochs']} epochs of at most {result['budget']['max_batches']} batches of 32, "
        f"then the recipe's evaluation (TTA, calibration, OOD fit) when it completes; space {SPACE}, "
        f"{result['budget']['startup_trials']} start-up trials, sampler seed 0.",
        f"Wall time, 1 process x {one['threads_each']} thread(s) / 2 processes x {two['threads_each']}: "
        f"{one['seconds'] / two['seconds']:.2f} (trials per process: "
        f"{', '.join(map(str, two['trials_per_process'].values()))}).",
        "The best val_bma is chosen on the validation side it is measured on (optimistic); the test column "
        "and the seed-1 rows are the check.",
        f"Total wall time: {result['total_seconds'] / 60:.1f} min.",
    ]
    return BenchTable("Tuning: cls_default's lr, weight decay and label smoothing on synthetic data", rows, notes)


def machine() -> dict[str, Any]:
    import optuna
    import torch

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpus": cpus,
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "optuna": optuna.__version__,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 trials, 150 images, a tiny budget (about a minute)")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="threads of the one-process study; the two processes get half "
        "each (default 2; with --quick, $OMP_NUM_THREADS or 1)",
    )
    parser.add_argument("--out", type=Path, default=None, help="default runs/bench-tune (runs/bench-tune/quick)")
    parser.add_argument("--no-retrain", action="store_true", help="skip (d), training the best and default again")
    args = parser.parse_args()
    budget = QUICK if args.quick else FULL
    threads = args.threads or (int(os.environ.get("OMP_NUM_THREADS", "1")) if args.quick else 2)
    half = max(1, threads // 2)
    out = (args.out or ROOT / "runs" / "bench-tune" / ("quick" if args.quick else "")).absolute()
    for stale in ("default", "one_process", "two_processes", "retrain-default", "retrain-best", "logs"):
        shutil.rmtree(out / stale, ignore_errors=True)  # a study folder left from a run before would resume
    t0 = time.perf_counter()
    data = synthetic_data(out, budget.images)
    overrides = budget.overrides(out)
    result: dict[str, Any] = {"date": date.today().isoformat(), "quick": args.quick, "budget": asdict(budget)}
    result["machine"] = machine()
    print(f"(a) the default recipe, 1 process x {threads} thread(s) ...", flush=True)
    result["default"] = train(data, out, "default", overrides, threads)
    print(f"(b) {budget.trials} trials in 1 process x {threads} thread(s) ...", flush=True)
    result["one_process"] = study(data, out, "one_process", budget, overrides, 1, threads)
    print(f"(c) {budget.trials} trials in 2 processes x {half} thread(s), one SQLite storage ...", flush=True)
    result["two_processes"] = study(data, out, "two_processes", budget, overrides, 2, half)
    bests = [(result[k]["best"], k) for k in ("one_process", "two_processes") if result[k]["best"]]
    if not args.no_retrain and bests:
        best, where = max(bests, key=lambda b: b[0]["value"])
        print(f"(d) the best recipe (trial {best['trial']} of {where}) and the default with seed {RETRAIN_SEED} ...")
        seed = [f"train.seed={RETRAIN_SEED}"]
        result["retrain"] = {
            "default recipe": train(data, out, "retrain-default", [*overrides, *seed], threads),
            f"best recipe ({where})": train(
                data, out, "retrain-best", seed, threads, config=out / where / "best_recipe.yaml"
            ),
        }
    result["total_seconds"] = time.perf_counter() - t0
    bench = table(result)
    result["table"] = bench.rows
    (out / "tune_study.json").write_text(json.dumps(result, indent=2, default=str))
    (out / "tune_study.md").write_text(bench.markdown())
    print(bench.markdown())
    print(f"wrote {out / 'tune_study.json'} and {out / 'tune_study.md'}")


if __name__ == "__main__":
    main()
