"""A training run's folder: ``config.yaml``, ``log.jsonl`` (one line per logged step), ``last.pth`` (weights plus
everything needed to resume) and ``best.pth`` (the weights that validated best)."""
from __future__ import annotations

import bisect
import json
import math
import random
from pathlib import Path

import numpy as np
import torch

from ..atomic import atomic_path
from ..distributed import join
from ..errors import PosetrackError


def check_run_dir(out: Path, resume: bool) -> Path | None:
    """The checkpoint to resume from (``None`` for a fresh run); refuses to overwrite or to resume nothing."""
    last = out / "last.pth"
    if resume and not last.is_file():
        raise PosetrackError(f"nothing to resume: {last} does not exist; run without --resume to start")
    if not resume and last.is_file():
        raise PosetrackError(f"{out} already holds a training run ({last.name}); pass --resume to continue it "
                             "or choose another --out")
    return last if resume else None


class RunTrainer:
    """What the pose and the detector trainers share: the config, the run folder, the process group and device,
    the epoch loop (``fit``), the best-so-far bookkeeping, logging from rank 0 and the DistributedDataParallel
    wrapper. A trainer supplies ``train_epoch``, ``validate``, ``epoch_line`` and ``_save``."""

    def _start_run(self, cfg, out: str | None, resume: bool, progress: bool) -> Path | None:
        """Set ``cfg``, ``out``, ``ctx``, ``device`` and ``progress``; return ``last.pth`` when resuming."""
        self.cfg = cfg
        self.out = Path(out or cfg.out)
        self.ctx = join(cfg.device)
        self.device = torch.device(self.ctx.device)
        self.progress = progress and self.ctx.is_main
        return check_run_dir(self.out, resume)

    def _parallel(self, net: torch.nn.Module) -> torch.nn.Module:
        if not self.ctx.distributed:
            return net
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(net, device_ids=[self.device.index] if self.device.type == "cuda" else None)

    def step_decay(self, epoch: int) -> float:
        """The learning rate of (0-based) ``epoch``: ``optim.lr`` times ``gamma`` for each milestone reached, the
        MultiStepLR rule. It is computed from the config, so a resumed run follows the config it is resumed with,
        as the official ``train.py`` (which rebuilds its scheduler from the config) does."""
        o = self.cfg.optim
        return o.lr * o.gamma ** bisect.bisect_right(list(o.milestones), epoch)

    # ------------------------------------------------------------------ the loop both trainers run

    def fit(self) -> dict:
        """Train the configured epochs (validating and saving from rank 0); returns ``{"epoch", "step", "best",
        "best_epoch", "last_val"}``."""
        from .. import distributed as dist

        metrics: dict = {}
        epochs = self.cfg.optim.epochs
        try:
            for epoch in range(self.start_epoch, epochs):
                loss = self.train_epoch(epoch)
                every = self.cfg.val.every
                due = every and ((epoch + 1) % every == 0 or epoch == epochs - 1) and self.ctx.is_main
                metrics = self.validate() if due else {}
                self.log(f"epoch {epoch + 1}/{epochs}: {self.epoch_line(loss, metrics)}")
                if self.ctx.is_main:
                    self._save(epoch, loss, metrics)
                dist.barrier(self.ctx)
        finally:
            dist.leave(self.ctx)
        return {"epoch": epochs, "step": self.step, "best": self.best, "best_epoch": self.best_epoch + 1,
                "last_val": metrics}

    def improved(self, epoch: int, metrics: dict, metric: str) -> bool:
        """Whether ``metrics[metric]`` beats the best so far (then it becomes the best, of ``epoch``)."""
        score = metrics.get(metric, math.nan)
        if math.isnan(score) or score <= self.best:
            return False
        self.best, self.best_epoch = score, epoch
        return True

    def log(self, message: str) -> None:
        if self.ctx.is_main:
            from tqdm import tqdm

            tqdm.write(message)


def append_log(out: Path, entry: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "log.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")


def save_atomic(payload: dict, path: Path) -> None:
    """``torch.save`` to a temporary file beside ``path``, then rename: a crash never leaves half a checkpoint."""
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def rng_state() -> dict:
    """Every RNG the training touches, in a form ``torch.load(weights_only=True)`` accepts."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {"torch": torch.get_rng_state(), "python": random.getstate(),
             "numpy": [kind, keys.tolist(), int(pos), int(has_gauss), float(cached)]}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(_tuples(state["python"]))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])


def _tuples(value):
    """``random.setstate`` wants tuples; a round trip through a checkpoint may hand back lists."""
    return tuple(_tuples(v) for v in value) if isinstance(value, (list, tuple)) else value
