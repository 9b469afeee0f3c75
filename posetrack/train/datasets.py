"""``KeypointDataset``: the training items (augmented crops, heatmap targets, target weights) of a ``Samples``
table (``posetrack.train.samples``), as the official ``JointsDataset.__getitem__`` makes them."""
from __future__ import annotations

import cv2
import numpy as np
import torch

from ..errors import PosetrackError
from ..layouts import get_layout
from .augment import AugmentConfig, Augmentation, crop_matrix, sample_augmentation, transform_joints
from .samples import IMREAD_FLAGS, Samples
from .targets import heatmap_targets


class KeypointDataset(torch.utils.data.Dataset):
    """Augmented crops, heatmaps and target weights for training.

    Each item's randomness comes from its own generator seeded by ``(seed, epoch, index)``, so the augmentation
    of a sample does not depend on the worker count, the process count or what ran before: a resumed run and a
    multi-process run see exactly the crops a single uninterrupted run sees. Call ``set_epoch`` before each epoch.
    """

    def __init__(self, samples: Samples, input_size, sigma: float, augment: AugmentConfig | None,
                 color_order: str = "bgr", seed: int = 0):
        self.samples = samples
        self.input_size = tuple(int(v) for v in input_size)
        self.heatmap_size = (self.input_size[0] // 4, self.input_size[1] // 4)
        self.sigma = sigma
        self.augment = augment
        self.color_order = color_order
        self.flip_permutation = get_layout(samples.layout).flip_permutation()
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.samples)

    def sample(self, index: int) -> dict:
        """The numpy pieces of one item: ``image`` (H x W x 3 uint8, model colour order), crop ``joints``,
        ``target`` and ``weight``; ``error`` (a message) instead when the image cannot be decoded."""
        s = self.samples
        path = s.image_paths[s.image_index[index]]
        image = cv2.imread(path, IMREAD_FLAGS)
        if image is None:
            return {"index": index, "error": f"{path}: cannot be read or decoded as an image"}
        rng = np.random.default_rng((self.seed, self.epoch, index))
        aug = sample_augmentation(rng, self.augment) if self.augment else Augmentation()
        m = crop_matrix(s.centers[index], s.scales[index], aug, image.shape[1], self.input_size)
        crop = cv2.warpAffine(image, m, self.input_size, flags=cv2.INTER_LINEAR)
        if self.color_order == "rgb":
            crop = crop[:, :, ::-1]
        joints = transform_joints(s.joints[index], m, self.flip_permutation if aug.flip else None)
        target, weight = heatmap_targets(joints, self.input_size, self.heatmap_size, self.sigma)
        return {"index": index, "image": np.ascontiguousarray(crop), "joints": joints, "target": target,
                "weight": weight}

    def __getitem__(self, index: int) -> dict:
        """A tensor item. An image that fails to decode is reported in ``bad`` and replaced by the next sample,
        so that every batch keeps its size (all processes of a distributed run must take the same steps)."""
        bad = []
        for attempt in range(min(len(self), 16)):
            item = self.sample((index + attempt) % len(self))
            if "error" not in item:
                break
            bad.append((item["index"], item["error"]))
        else:
            raise PosetrackError(f"{len(bad)} images in a row cannot be decoded (e.g. {bad[0][1]}); check the "
                                 "dataset's image files")
        return {"index": index, "image": torch.from_numpy(item["image"]).permute(2, 0, 1),
                "target": torch.from_numpy(item["target"]), "weight": torch.from_numpy(item["weight"]),
                "bad": bad}


def collate(items: list[dict]) -> dict:
    """Stack the items; gather the ``(index, message)`` pairs of the images that had to be replaced."""
    return {"image": torch.stack([it["image"] for it in items]),
            "target": torch.stack([it["target"] for it in items]),
            "weight": torch.stack([it["weight"] for it in items]),
            "index": torch.tensor([it["index"] for it in items]),
            "bad": [b for it in items for b in it["bad"]]}

