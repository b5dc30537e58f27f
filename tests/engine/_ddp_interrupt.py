"""A ``dermkit`` command line whose rank 1 gets a Ctrl-C right after its ``DERMKIT_TEST_STOP_AFTER``-th
optimiser step (run under torchrun by tests/engine/test_distributed.py): only that process sees the
signal, so the run must agree to stop on every rank and save a state that resumes exactly."""

from __future__ import annotations

import os
import signal
import sys

from dermkit.cli import run_app
from dermkit.engine import trainer as trainer_module

STOP_AFTER = int(os.environ["DERMKIT_TEST_STOP_AFTER"])
real_step = trainer_module.Trainer._step
calls = {"n": 0}


def step(self, *args):
    out = real_step(self, *args)
    calls["n"] += 1
    if calls["n"] == STOP_AFTER and self.dist.rank == 1:
        os.kill(os.getpid(), signal.SIGINT)
    return out


trainer_module.Trainer._step = step
sys.exit(run_app(sys.argv[1:]))
