"""``DetectorTrainer``: fine-tune torchvision's Faster R-CNN to person boxes of a new domain.

The network gets two classes (background, person = label 1, as the detector loader expects). Starting from
torchvision's COCO weights, the person row of the 91-class box predictor is kept, so training starts from a
working person detector. As torchvision does for trained weights, the backbone's BatchNorm is frozen and only the
last ``trainable_backbone_layers`` stages learn. The loop is the pose trainer's: one process or many under
torchrun, rank 0 logs, validates (COCO box AP of the person class) and writes ``last.pth``/``best.pth``:
``{"format": "posetrack.detector", "model": state_dict, "meta": {...}}``, which ``posetrack.detect`` loads.
"""
from __future__ import annotations

import math
from pathlib import Path

import torch
from torch.utils.data import DataLoader, DistributedSampler
from tqdm import tqdm

from ..detect.faster_rcnn import to_frozen_batchnorm
from ..errors import PosetrackError
from .. import distributed as dist
from .samples import check_bad_fraction
from .detector_data import PERSON, PersonBoxes, box_ap, collate_detection
from .recipe import DetectorModelConfig, DetectorTrainConfig
from .runs import RunTrainer, append_log, rng_state, save_atomic, set_rng_state

FORMAT = "posetrack.detector"


def build_detector(m: DetectorModelConfig, load_weights: bool = True) -> torch.nn.Module:
    """A 2-class Faster R-CNN of ``m.variant``, initialised as ``m.init`` says (``load_weights=False``: the same
    layers, frozen ones included, without fetching the weights: for resuming)."""
    from torchvision.models import MobileNet_V3_Large_Weights, ResNet50_Weights

    from ..detect.faster_rcnn import VARIANTS, build_detector_model, load_state

    builder = VARIANTS[m.variant][0]
    kwargs = dict(num_classes=2, min_size=m.min_size, max_size=m.max_size)
    if m.init == "imagenet" and load_weights:
        backbone = (MobileNet_V3_Large_Weights if m.variant.startswith("mobilenet") else ResNet50_Weights).IMAGENET1K_V1
        try:
            return builder(weights=None, weights_backbone=backbone,
                           trainable_backbone_layers=m.trainable_backbone_layers, **kwargs)
        except Exception as err:  # noqa: BLE001 - offline or blocked download
            raise PosetrackError(f"cannot get the ImageNet backbone weights ({type(err).__name__}); download "
                                 f"{backbone.url} into {torch.hub.get_dir()}/checkpoints/") from None
    model = build_detector_model(m.variant, 2, m.representation_size, min_size=m.min_size, max_size=m.max_size)
    if m.init == "none":
        return model
    if m.variant != "resnet50_fpn_v2":  # torchvision freezes BatchNorm under trained weights, except in v2
        # v1's COCO weights were trained with eps 0 (torchvision's ``overwrite_eps``).
        eps = 0.0 if m.variant == "resnet50_fpn" and m.init != "imagenet" else 1e-5
        to_frozen_batchnorm(model.backbone.body, eps)
    if load_weights:
        model.load_state_dict(_person_state(m, load_state), strict=False)
    _freeze_stages(model.backbone.body, m.variant, m.trainable_backbone_layers)
    return model


def _person_state(m: DetectorModelConfig, load_state) -> dict:
    """The init weights as a 2-class state: background and person rows of a 91-class COCO predictor."""
    found, state = load_state(m.variant, None if m.init == "coco" else m.init)
    if found != m.variant:
        raise PosetrackError(f"{m.init} holds a {found} detector, not {m.variant}; set model.variant: {found}")
    if state["roi_heads.box_predictor.cls_score.weight"].shape[0] != 2:
        state = dict(state)
        for key in ("cls_score.weight", "cls_score.bias"):
            state[f"roi_heads.box_predictor.{key}"] = state[f"roi_heads.box_predictor.{key}"][[0, PERSON]]
        rows = [*range(4), *range(4 * PERSON, 4 * PERSON + 4)]  # background and person box deltas
        for key in ("bbox_pred.weight", "bbox_pred.bias"):
            state[f"roi_heads.box_predictor.{key}"] = state[f"roi_heads.box_predictor.{key}"][rows]
    return state


def _freeze_stages(body: torch.nn.Module, variant: str, trainable: int) -> None:
    """torchvision's ``_resnet_fpn_extractor``/``_mobilenet_extractor`` rule for which stages learn."""
    if variant.startswith("resnet"):
        layers = ["layer4", "layer3", "layer2", "layer1", "conv1"][:trainable] + (["bn1"] if trainable == 5 else [])
        for name, p in body.named_parameters():
            p.requires_grad_(any(name.startswith(layer) for layer in layers))
        return
    blocks = list(body.children())
    stages = [0] + [i for i, b in enumerate(blocks) if getattr(b, "_is_cn", False)] + [len(blocks) - 1]
    freeze_before = len(blocks) if trainable == 0 else stages[max(len(stages) - trainable, 0)]
    for block in blocks[:freeze_before]:
        block.requires_grad_(False)


class DetectorTrainer(RunTrainer):
    def __init__(self, cfg: DetectorTrainConfig, out: str | None = None, resume: bool = False,
                 progress: bool = True):
        last = self._start_run(cfg, out, resume, progress)
        torch.manual_seed(cfg.seed)
        raw = _read(last) if last else None
        model = build_detector(cfg.model, load_weights=raw is None)
        if raw is not None:
            model.load_state_dict(raw["model"])
        self.net = model.to(self.device)
        self.model = self._parallel(self.net)
        o = cfg.optim
        params = [p for p in self.net.parameters() if p.requires_grad]
        self.optimizer = (torch.optim.SGD(params, lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay)
                          if o.name == "sgd" else
                          (torch.optim.AdamW if o.name == "adamw" else torch.optim.Adam)(
                              params, lr=o.lr, weight_decay=o.weight_decay))
        self.amp = o.amp and self.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)
        self.dataset = PersonBoxes(cfg.data.train, train=True, flip_prob=cfg.data.flip_prob, seed=cfg.seed,
                                   negatives=cfg.data.negatives)
        check_bad_fraction(self.dataset.bad, self.dataset.candidates, cfg.data.max_bad_fraction,
                           cfg.data.train.describe(), self.dataset.examples)
        self.sampler = DistributedSampler(self.dataset, num_replicas=self.ctx.world_size, rank=self.ctx.rank,
                                          shuffle=True, seed=cfg.seed)
        self.loader = DataLoader(self.dataset, batch_size=o.batch_size, sampler=self.sampler,
                                 num_workers=cfg.data.workers, collate_fn=collate_detection,
                                 pin_memory=self.device.type == "cuda")
        self.start_epoch, self.step, self.best, self.best_epoch = 0, 0, -math.inf, -1
        self.bad_seen: set[int] = set()
        if raw is not None:
            st = raw["train_state"]
            self.optimizer.load_state_dict(st["optimizer"])
            self.scaler.load_state_dict(st["scaler"])
            self.start_epoch, self.step = st["epoch"] + 1, st["step"]
            self.best, self.best_epoch = st["best"], st["best_epoch"]
            set_rng_state(st["rng"])
        self.log(f"detector {cfg.model.variant} (init {cfg.model.init}): {len(self.dataset)} training images, "
                 f"{self.ctx.world_size} process(es) on {self.device}"
                 + (f"; resumed at epoch {self.start_epoch + 1}, step {self.step}" if raw is not None else ""))

    def lr_at(self, epoch: int, step: int) -> float:
        """Step decay per epoch (``step_decay``) times the reference's linear warmup over the first steps."""
        o = self.cfg.optim
        lr = self.step_decay(epoch)
        if step < o.warmup_iters:
            lr *= o.warmup_factor + (1 - o.warmup_factor) * step / o.warmup_iters
        return lr

    def epoch_line(self, loss: float, metrics: dict) -> str:
        shown = f", person box AP {metrics['AP']:.2f}, AP50 {metrics['AP50']:.2f}" if metrics else ""
        return f"loss {loss:.4f}{shown}"

    def train_epoch(self, epoch: int) -> float:
        cfg = self.cfg
        self.dataset.set_epoch(epoch)
        self.sampler.set_epoch(epoch)
        self.model.train()
        iters = len(self.loader)
        if cfg.optim.max_iters_per_epoch:
            iters = min(iters, cfg.optim.max_iters_per_epoch)
        bar = tqdm(total=iters, desc=f"epoch {epoch + 1}/{cfg.optim.epochs}", disable=not self.progress,
                   dynamic_ncols=True, leave=False)
        running, total = torch.zeros(2, device=self.device), [0.0, 0]
        for it, (images, targets, bad) in enumerate(self.loader):
            if it >= iters:
                break
            for index, message in bad:
                if index not in self.bad_seen:
                    self.bad_seen.add(index)
                    self.dataset.examples.insert(0, message)
            lr = self.lr_at(epoch, self.step)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            images = [im.to(self.device, non_blocking=True).float().div_(255) for im in images]
            targets = [{"boxes": t["boxes"].to(self.device), "labels": t["labels"].to(self.device)} for t in targets]
            with torch.autocast(self.device.type, dtype=torch.float16, enabled=self.amp):
                losses = self.model(images, targets)
            loss = sum(losses.values())
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.step += 1
            running += torch.stack([loss.detach().float(), torch.ones((), device=self.device)])
            if self.step % cfg.log_every == 0 or it == iters - 1:
                stats = dist.all_sum(running, self.ctx)
                mean = float(stats[0] / stats[1])
                total[0] += mean * float(running[1])
                total[1] += int(running[1])
                running.zero_()
                if self.ctx.is_main:
                    append_log(self.out, {"epoch": epoch + 1, "step": self.step, "loss": mean, "lr": lr})
                bar.set_postfix(loss=f"{mean:.3f}", lr=f"{lr:.1e}")
                check_bad_fraction(self.dataset.bad + len(self.bad_seen), self.dataset.candidates,
                                   cfg.data.max_bad_fraction, cfg.data.train.describe(), self.dataset.examples)
            bar.update(1)
        bar.close()
        return total[0] / max(total[1], 1)

    @torch.inference_mode()
    def validate(self) -> dict:
        v = self.cfg.val
        data = PersonBoxes(self.cfg.data.val, train=False)
        n = min(len(data), v.max_images) if v.max_images else len(data)
        self.net.eval()
        results = []
        for start in tqdm(range(0, n, v.batch_size), desc="validate", leave=False, disable=not self.progress):
            items = [data[i] for i in range(start, min(start + v.batch_size, n))]
            images = [im.to(self.device).float().div_(255) for im, _, _ in items]
            with torch.autocast(self.device.type, dtype=torch.float16, enabled=self.amp):
                outputs = self.net(images)
            for (_, target, _), out in zip(items, outputs):
                keep = out["labels"] == PERSON
                for (x1, y1, x2, y2), s in zip(out["boxes"][keep].float().tolist(), out["scores"][keep].tolist()):
                    results.append({"image_id": target["image_id"], "category_id": PERSON,
                                    "bbox": [x1, y1, x2 - x1, y2 - y1], "score": s})
        return box_ap(data.ann_file, results, data.image_ids[:n])

    def _save(self, epoch: int, loss: float, metrics: dict) -> None:
        improved = self.improved(epoch, metrics, "AP")
        m = self.cfg.model
        meta = {"variant": m.variant, "num_classes": 2, "person_label": PERSON, "min_size": m.min_size,
                "max_size": m.max_size, "epoch": epoch + 1, "step": self.step, "loss": loss, "val": metrics,
                "config": self.cfg.to_dict()}
        state = {k: v.detach().cpu().clone() for k, v in self.net.state_dict().items()}
        payload = {"format": FORMAT, "model": state, "meta": meta}
        train_state = {"epoch": epoch, "step": self.step, "optimizer": self.optimizer.state_dict(),
                       "scaler": self.scaler.state_dict(), "rng": rng_state(), "best": self.best,
                       "best_epoch": self.best_epoch}
        save_atomic({**payload, "train_state": train_state}, self.out / "last.pth")
        if improved:
            save_atomic(payload, self.out / "best.pth")


def _read(path: Path) -> dict:
    from ..checkpoint_io import read_checkpoint

    raw = read_checkpoint(path)
    if not isinstance(raw, dict) or raw.get("format") != FORMAT or "train_state" not in raw:
        raise PosetrackError(f"{path} is not a detector training checkpoint with training state; cannot resume")
    return raw
