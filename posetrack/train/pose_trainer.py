"""``PoseTrainer``: the paper's training loop for the SimpleBaseline network (§4.1, official ``train.py``).

One loop serves one process or many (``torchrun``): every process runs the same steps on its share of each
batch (``DistributedSampler``, also used with one process so that a single process sees exactly the batches a
group of processes sees together), gradients are averaged by ``DistributedDataParallel``, and rank 0 logs,
validates and writes ``last.pth`` (everything needed to resume) and ``best.pth`` in our checkpoint format.
"""
from __future__ import annotations

import math

import torch
from torch.utils.data import DataLoader, DistributedSampler
from tqdm import tqdm

from ..errors import PosetrackError
from ..layouts import get_layout, joint_mapping
from ..checkpoint_io import read_checkpoint
from ..pose.checkpoint import PoseModelInfo, load_pose_model, save_checkpoint
from ..pose.network import PoseNetConfig, PoseResNet
from .. import distributed as dist
from .datasets import KeypointDataset, collate
from .samples import check_bad_fraction, load_samples
from .recipe import TrainConfig
from .runs import RunTrainer, append_log, rng_state, set_rng_state
from .targets import JointsMSELoss, default_sigma


def build_pose_model(cfg: TrainConfig, layout: str, initialise: bool = True) -> tuple[PoseResNet, PoseModelInfo]:
    """The configured network and its checkpoint info; ``initialise=False`` skips ``model.init`` (resuming)."""
    m = cfg.model
    arch = PoseNetConfig(depth=m.depth, num_joints=get_layout(layout).num_joints,
                         deconv_filters=tuple(m.deconv_filters), deconv_kernels=tuple(m.deconv_kernels))
    model = PoseResNet(arch)
    if initialise and m.init == "imagenet":
        model.load_imagenet_backbone(m.imagenet_weights)
    elif initialise and m.init != "none":
        init_from_checkpoint(model, m.init, layout)
    info = PoseModelInfo(arch=arch, input_size=tuple(m.input_size), layout=layout, color_order=m.color_order,
                         mean=tuple(m.mean), std=tuple(m.std))
    return model, info


def init_from_checkpoint(model: PoseResNet, path: str, layout: str) -> None:
    """Start from another pose checkpoint (the paper fine-tunes its COCO models on PoseTrack, §4.2).

    Heatmap channels are matched by joint name when the layouts differ (COCO-17 -> PoseTrack-18 keeps nose,
    ears and limbs); a joint the source lacks keeps the source channel of the same slot as its start.
    """
    source, info = load_pose_model(path)
    state = source.state_dict()
    target = model.state_dict()
    wrong = [k for k in target if k in state and state[k].shape != target[k].shape and not k.startswith("final_")]
    if wrong or set(target) - set(state):
        raise PosetrackError(f"{path} ({info.arch.describe()}) does not fit the configured network "
                             f"({model.config.describe()}); set model.depth/deconv_* to match it")
    if info.layout != layout and state["final_layer.weight"].shape == target["final_layer.weight"].shape:
        mapping = joint_mapping(info.layout, layout)
        pick = torch.where(torch.as_tensor(mapping) >= 0, torch.as_tensor(mapping), torch.arange(len(mapping)))
        for key in ("final_layer.weight", "final_layer.bias"):
            state[key] = state[key][pick]
    model.load_state_dict(state)


def use_running_statistics(model: torch.nn.Module) -> None:
    """BatchNorm on running statistics: each sample's output no longer depends on the rest of its batch."""
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.eval()


class PoseTrainer(RunTrainer):
    def __init__(self, cfg: TrainConfig, out: str | None = None, resume: bool = False, progress: bool = True):
        if cfg.data.train.layout != cfg.data.val.layout and cfg.val.every:
            raise PosetrackError(f"data.val ({cfg.data.val.format}) has another joint layout than data.train "
                                 f"({cfg.data.train.format}); validate on the same kind of data")
        last = self._start_run(cfg, out, resume, progress)
        self._build_data()  # first: a wrong data path fails before any weights are fetched
        torch.manual_seed(cfg.seed)
        model, self.info = build_pose_model(cfg, cfg.data.train.layout, initialise=last is None)
        self.log(f"model: {self.info.arch.describe()}, input {cfg.model.input_size[0]}x{cfg.model.input_size[1]}, "
                 f"{self.ctx.world_size} process(es) on {self.device}, batch {cfg.optim.batch_size} per process, "
                 f"AMP {'on' if cfg.optim.amp and self.device.type == 'cuda' else 'off'}")
        self.metric = "mAP" if cfg.data.val.format == "posetrack18" else "AP"
        self.start_epoch, self.step, self.best, self.best_epoch = 0, 0, -math.inf, -1
        raw = read_checkpoint(last) if last else None
        if raw is not None:
            model.load_state_dict(raw["state_dict"])
        if cfg.model.bn == "sync":
            if self.device.type != "cuda":
                raise PosetrackError("model.bn=sync needs CUDA (SyncBatchNorm); on the CPU use train or frozen")
            model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        self.channels_last = self.device.type == "cuda"
        model = model.to(self.device)
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.net = model
        self.model = self._parallel(model)
        self.optimizer = self._optimizer()
        o = cfg.optim
        self.amp = o.amp and self.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)
        self.criterion = JointsMSELoss()
        self.mean = torch.tensor(cfg.model.mean, device=self.device).view(1, 3, 1, 1) * 255
        self.std = torch.tensor(cfg.model.std, device=self.device).view(1, 3, 1, 1) * 255
        self.bad_seen: set[int] = set()
        self.val_samples = None
        if raw is not None:
            self._restore(raw)
        if self.ctx.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
            from ..config import dump_config
            dump_config(cfg, self.out / "config.yaml")

    # ------------------------------------------------------------------ setup
    def _optimizer(self) -> torch.optim.Optimizer:
        o = self.cfg.optim
        params = self.model.parameters()
        if o.name == "sgd":
            return torch.optim.SGD(params, lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay)
        cls = torch.optim.AdamW if o.name == "adamw" else torch.optim.Adam
        return cls(params, lr=o.lr, weight_decay=o.weight_decay)

    def _build_data(self) -> None:
        cfg, m = self.cfg, self.cfg.model
        aspect = m.input_size[0] / m.input_size[1]
        self.samples = load_samples(cfg.data.train, aspect, cfg.data.max_bad_fraction)
        sigma = cfg.data.sigma or default_sigma(m.input_size)
        self.dataset = KeypointDataset(self.samples, m.input_size, sigma, cfg.data.augment, m.color_order, cfg.seed)
        self.sampler = DistributedSampler(self.dataset, num_replicas=self.ctx.world_size, rank=self.ctx.rank,
                                          shuffle=True, seed=cfg.seed)
        workers = cfg.data.workers
        self.loader = DataLoader(self.dataset, batch_size=cfg.optim.batch_size, sampler=self.sampler,
                                 num_workers=workers, collate_fn=collate,
                                 pin_memory=self.device.type == "cuda", prefetch_factor=4 if workers else None)
        s = self.samples
        skipped = ", ".join(f"{v} {k}" for k, v in s.skipped.items() if v)
        self.log(f"train: {len(s)} people in {len(set(s.image_index.tolist()))} images of "
                 f"{cfg.data.train.describe()}" + (f" (skipped: {skipped})" if skipped else "")
                 + (f"; {s.bad} bad, e.g. {s.examples[0]}" if s.bad and s.examples else "")
                 + f"; heatmap sigma {sigma:g}")

    def _restore(self, raw: dict) -> None:
        state = raw.get("train_state")
        if not isinstance(state, dict):
            raise PosetrackError(f"{self.out / 'last.pth'} has no training state; it cannot be resumed")
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        self.start_epoch, self.step = state["epoch"] + 1, state["step"]
        self._set_lr(self.step_decay(self.start_epoch))
        self.best, self.best_epoch = state["best"], state["best_epoch"]
        set_rng_state(state["rng"])
        self.log(f"resumed {self.out / 'last.pth'}: epoch {self.start_epoch + 1}, step {self.step}, "
                 f"lr {self.lr:g}")

    # ------------------------------------------------------------------ loop
    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def _set_lr(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def epoch_line(self, loss: float, metrics: dict) -> str:
        shown = "".join(f", {k} {v:.2f}" for k, v in metrics.items() if k in (self.metric, "AP50", "MOTA"))
        return f"loss {loss:.4e}, lr {self.lr:g}{shown}"

    def train_epoch(self, epoch: int) -> float:
        cfg = self.cfg
        self._set_lr(self.step_decay(epoch))
        self.dataset.set_epoch(epoch)
        self.sampler.set_epoch(epoch)
        self.model.train()
        if cfg.model.bn == "frozen":
            use_running_statistics(self.model)
        iters = len(self.loader)
        if cfg.optim.max_iters_per_epoch:
            iters = min(iters, cfg.optim.max_iters_per_epoch)
        bar = tqdm(total=iters, desc=f"epoch {epoch + 1}/{cfg.optim.epochs}", disable=not self.progress,
                   dynamic_ncols=True, leave=False)
        running = torch.zeros(2, device=self.device)
        epoch_loss = [0.0, 0]
        for it, batch in enumerate(self.loader):
            if it >= iters:
                break
            self._note_bad(batch["bad"])
            loss = self._train_step(batch)
            running += torch.stack([loss.detach(), torch.ones((), device=self.device)])
            if self.step % cfg.log_every == 0 or it == iters - 1:
                mean = self._log_step(epoch, running)
                epoch_loss[0] += mean * float(running[1])
                epoch_loss[1] += int(running[1])
                running.zero_()
                bar.set_postfix(loss=f"{mean:.3e}", lr=f"{self.lr:.1e}")
            bar.update(1)
        bar.close()
        return epoch_loss[0] / max(epoch_loss[1], 1)

    def _train_step(self, batch: dict) -> torch.Tensor:
        x = batch["image"].to(self.device, non_blocking=True).float()
        x = (x - self.mean) / self.std
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        target = batch["target"].to(self.device, non_blocking=True)
        weight = batch["weight"].to(self.device, non_blocking=True)
        with torch.autocast(self.device.type, dtype=torch.float16, enabled=self.amp):
            output = self.model(x)
        loss = self.criterion(output, target, weight)  # in float32, outside autocast
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.step += 1
        return loss

    def _note_bad(self, bad: list) -> None:
        for index, message in bad:
            if index not in self.bad_seen:
                self.bad_seen.add(index)
                self.samples.examples.insert(0, message)
                if len(self.bad_seen) <= 5:
                    tqdm.write(f"skipping sample {index}: {message}")

    def _log_step(self, epoch: int, running: torch.Tensor) -> float:
        """Mean loss since the last log over all processes; also stops every process when too many are bad."""
        s = self.samples
        too_many = (s.bad + len(self.bad_seen)) / max(s.candidates, 1) > self.cfg.data.max_bad_fraction
        stats = torch.cat([running, torch.tensor([float(too_many)], device=self.device)])
        stats = dist.all_sum(stats, self.ctx)
        if stats[2] > 0:
            # Every process stops together; the ones that met the bad samples say which.
            check_bad_fraction(s.bad + len(self.bad_seen), s.candidates, self.cfg.data.max_bad_fraction,
                               self.cfg.data.train.describe(), s.examples)
            raise PosetrackError("another training process met too many unreadable images; see its message")
        mean = float(stats[0] / stats[1])
        if self.ctx.is_main:
            append_log(self.out, {"epoch": epoch + 1, "step": self.step, "loss": mean, "lr": self.lr})
        return mean

    # ------------------------------------------------------------------ validation and checkpoints
    def validate(self) -> dict:
        from ..pose.estimator import PoseEstimator
        from .validate import validate_coco, validate_posetrack

        cfg = self.cfg
        estimator = PoseEstimator(self.net, self.info, device=str(self.device), flip_test=cfg.val.flip_test,
                                  batch_size=cfg.val.batch_size, channels_last=self.channels_last,
                                  precision="fp16" if self.amp else "fp32")
        if cfg.data.val.format == "posetrack18":
            return validate_posetrack(estimator, cfg.data.val, cfg.val.max_images, self.progress)
        if self.val_samples is None:
            m = cfg.model
            self.val_samples = load_samples(cfg.data.val, m.input_size[0] / m.input_size[1],
                                            cfg.data.max_bad_fraction)
        return validate_coco(estimator, self.val_samples, cfg.data.val, cfg.val.boxes, cfg.val.max_images,
                             cfg.val.min_box_score, self.progress)

    def _save(self, epoch: int, loss: float, metrics: dict) -> None:
        improved = self.improved(epoch, metrics, self.metric)
        meta = {"trained_with": "posetrack train", "epoch": epoch + 1, "step": self.step, "loss": loss,
                "val": metrics, "config": self.cfg.to_dict()}
        self.info.meta = meta
        state = {"epoch": epoch, "step": self.step, "optimizer": self.optimizer.state_dict(),
                 "scaler": self.scaler.state_dict(),
                 "rng": rng_state(), "best": self.best, "best_epoch": self.best_epoch,
                 "world_size": self.ctx.world_size}
        model = self.net.module if hasattr(self.net, "module") else self.net
        save_checkpoint(self.out / "last.pth", model, self.info, extra={"train_state": state})
        if improved:
            save_checkpoint(self.out / "best.pth", model, self.info)
            self.log(f"epoch {epoch + 1}: new best {self.metric} {self.best:.2f} -> {self.out / 'best.pth'}")
