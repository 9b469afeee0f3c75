"""``PoseEstimator``: a frame and person boxes in, keypoints in frame pixels out.

    from posetrack import PoseEstimator
    est = PoseEstimator.from_checkpoint("mmpose_res50_coco_256x192", device="cpu", flip_test=True)
    keypoints, person_scores = est(frame_bgr, boxes_xyxy, box_scores)

The frame is what OpenCV gives (H x W x 3 uint8 BGR); the estimator converts it to the checkpoint's colour order.
All boxes of a frame (and of several frames with ``estimate_frames``) go through the network together, in
batches of ``batch_size`` crops; with flip test the flipped crops ride in the same forward pass.

With ``return_features=True`` each call also returns ``(N, C)`` appearance features: the backbone's last feature
map pooled inside each crop (``pool_features``), from the same forward pass (``posetrack.track.appearance``).
"""
from __future__ import annotations

import contextlib
import warnings

import numpy as np
import torch

from ..devices import resolve_device
from ..errors import PosetrackError
from ..geometry import box_to_center_scale
from ..layouts import get_layout
from .checkpoint import IMAGENET_MEAN, IMAGENET_STD, PoseModelInfo, load_pose_model
from .network import PoseResNet
from .quantize import quantize_backbone
from .decode import decode_heatmaps, flip_back, heatmap_inverse_matrices, rescore, to_frame_coords
from .transforms import affine_matrices, crop_cv2, crop_torch

PRECISIONS = ("fp32", "fp16", "bf16")


def as_bgr_frame(frame) -> np.ndarray:
    """Accept H x W (grey), H x W x 1, H x W x 3 (BGR) or H x W x 4 (BGRA) uint8; return H x W x 3 BGR."""
    if not isinstance(frame, np.ndarray):
        raise PosetrackError(f"frame must be a numpy array (H x W x 3 uint8 BGR), got {type(frame).__name__}")
    if frame.dtype != np.uint8:
        raise PosetrackError(f"frame must be uint8 (as OpenCV reads it), got {frame.dtype}; "
                             "convert with frame.astype(np.uint8) after scaling to 0..255")
    if frame.ndim == 2:
        frame = frame[:, :, None]
    if frame.ndim != 3 or frame.shape[2] not in (1, 3, 4) or frame.shape[0] == 0 or frame.shape[1] == 0:
        raise PosetrackError(f"frame must be H x W x 3 (or grey / BGRA), got shape {frame.shape}")
    if frame.shape[2] == 1:
        frame = np.repeat(frame, 3, axis=2)
    elif frame.shape[2] == 4:
        frame = frame[:, :, :3]  # BGRA: the alpha channel carries no appearance
    return np.ascontiguousarray(frame)


def as_boxes(boxes, box_scores) -> tuple[np.ndarray, np.ndarray]:
    boxes = np.asarray(boxes, dtype=np.float32)
    if boxes.size == 0:
        boxes = boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise PosetrackError(f"boxes must be an (N, 4) array of x1, y1, x2, y2, got shape {boxes.shape}")
    if box_scores is None:
        scores = np.ones(len(boxes), np.float32)
    else:
        scores = np.asarray(box_scores, dtype=np.float32).reshape(-1)
        if len(scores) != len(boxes):
            raise PosetrackError(f"got {len(boxes)} boxes but {len(scores)} box scores")
    return boxes, scores


class PoseEstimator:
    """A SimpleBaseline network plus the official crop, flip test and decoding, batched."""

    def __init__(self, model: torch.nn.Module, info: PoseModelInfo | None = None, *, device: str = "cpu",
                 flip_test: bool = True, shift_heatmap: bool = True, batch_size: int = 32,
                 precision: str = "fp32", channels_last: bool = True, crop_backend: str = "auto",
                 input_size=None, layout=None, color_order=None, mean=None, std=None, flip_pairs=None,
                 num_joints=None, return_features: bool = False):
        if precision not in PRECISIONS:
            raise PosetrackError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        self.device = torch.device(resolve_device(str(device)))
        if precision == "fp16" and self.device.type != "cuda":
            raise PosetrackError("fp16 needs a CUDA device; on the CPU use precision 'bf16' or 'fp32'")
        self.input_size = tuple(input_size or (info.input_size if info else (192, 256)))
        self.layout = get_layout(layout or (info.layout if info else "coco17"))
        self.color_order = color_order or (info.color_order if info else "bgr")
        mean = mean or (info.mean if info else IMAGENET_MEAN)
        std = std or (info.std if info else IMAGENET_STD)
        self.mean = torch.tensor(mean, dtype=torch.float32, device=self.device).view(1, 3, 1, 1) * 255
        self.std = torch.tensor(std, dtype=torch.float32, device=self.device).view(1, 3, 1, 1) * 255
        # A network whose joints are not a named layout (tests, custom heads) passes flip_pairs and num_joints.
        self.num_joints = int(num_joints or (info.arch.num_joints if info else self.layout.num_joints))
        self.flip_permutation = (self.layout.flip_permutation() if flip_pairs is None
                                 else _permutation(flip_pairs, self.num_joints))
        self.flip_test = flip_test
        self.shift_heatmap = shift_heatmap
        self.batch_size = max(1, int(batch_size))
        self.precision = precision
        self.channels_last = channels_last
        if crop_backend == "auto":
            crop_backend = "torch" if self.device.type == "cuda" else "cv2"
        self.crop_backend = crop_backend
        self.info = info
        if return_features and not all(callable(getattr(model, name, None)) for name in ("backbone", "head")):
            raise PosetrackError("return_features needs a network with backbone() and head() (a PoseResNet); "
                                 f"got {type(model).__name__}")
        self.return_features = return_features
        self.model = model.to(self.device).eval()
        if channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.feature_size = 0
        if return_features:  # one tiny forward pass tells the channel count of any backbone
            probe = torch.zeros((1, 3, self.input_size[1], self.input_size[0]), device=self.device)
            self.feature_size = int(self.heatmaps(probe, features=True)[1].shape[1])

    @classmethod
    def from_checkpoint(cls, path_or_name, device: str = "cpu", flip_test: bool = True, **kwargs) -> "PoseEstimator":
        """Load a registry name (downloading it when possible) or any supported checkpoint file."""
        from .weights import resolve

        path, entry = resolve(path_or_name)
        load_kw = {}
        if entry is not None:
            load_kw = dict(input_size=entry.input_size, color_order=entry.color_order, layout=entry.layout)
        for key in ("input_size", "color_order", "layout"):
            if kwargs.get(key) is not None:
                load_kw[key] = kwargs.pop(key)
        model, info = load_pose_model(path, **load_kw)
        return cls(model, info, device=device, flip_test=flip_test, **kwargs)

    @property
    def heatmap_size(self) -> tuple[int, int]:
        return self.input_size[0] // 4, self.input_size[1] // 4

    def __call__(self, frame, boxes, box_scores=None) -> tuple[np.ndarray, ...]:
        return self.estimate_frames([frame], [boxes], [box_scores])[0]

    def estimate_frames(self, frames, boxes_per_frame, scores_per_frame=None) -> list[tuple[np.ndarray, ...]]:
        """Several frames' boxes in shared batches. Returns one ``(keypoints, person_scores)`` pair per frame
        (``(keypoints, person_scores, features)`` with ``return_features``)."""
        scores_per_frame = scores_per_frame or [None] * len(frames)
        crops, inverse, counts, valid_all, box_scores_all = [], [], [], [], []
        for frame, boxes, scores in zip(frames, boxes_per_frame, scores_per_frame):
            frame = as_bgr_frame(frame)
            boxes, scores = as_boxes(boxes, scores)
            valid = _valid_boxes(boxes)
            if not valid.all():
                warnings.warn(f"{int((~valid).sum())} degenerate boxes (empty or non-finite) get no keypoints")
            if valid.any():
                centers, scales, frame_crops = self._crop_boxes(frame, boxes[valid])
                crops.append(frame_crops)
                inverse.append(heatmap_inverse_matrices(centers, scales, self.heatmap_size))
            counts.append(len(boxes))
            valid_all.append(valid)
            box_scores_all.append(scores)
        k = self.num_joints
        pooled = np.zeros((0, self.feature_size), np.float32)
        if crops:
            coords, maxvals, pooled = self._infer(torch.cat(crops))
            joints = to_frame_coords(coords, np.concatenate(inverse))
        else:
            joints, maxvals = np.zeros((0, k, 2), np.float32), np.zeros((0, k), np.float32)
        results, start = [], 0
        for n, valid, scores in zip(counts, valid_all, box_scores_all):
            kpts = np.zeros((n, k, 3), np.float32)
            m = int(valid.sum())
            kpts[valid, :, :2] = joints[start:start + m]
            kpts[valid, :, 2] = maxvals[start:start + m]
            result = (kpts, rescore(scores, kpts[:, :, 2]))
            if self.return_features:
                features = np.zeros((n, pooled.shape[1]), np.float32)
                features[valid] = pooled[start:start + m]
                result += (features,)
            start += m
            results.append(result)
        return results

    def crops(self, frame, boxes) -> torch.Tensor:
        """``(N, 3, H, W)`` uint8 BGR network inputs of a frame's valid boxes (the official crop)."""
        boxes = as_boxes(boxes, None)[0]
        return self._crop_boxes(as_bgr_frame(frame), boxes[_valid_boxes(boxes)])[2]

    def _crop_boxes(self, frame: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
        """``(centers, scales, crops)`` of valid boxes in a BGR frame."""
        centers, scales = box_to_center_scale(boxes, self.input_size[0] / self.input_size[1])
        return centers, scales, self._crop(frame, affine_matrices(centers, scales, self.input_size))

    def to_int8(self, calibration: torch.Tensor) -> "PoseEstimator":
        """Run the backbone in 8 bits from now on (CPU, fp32 precision, a PoseResNet), its activation ranges
        taken from ``calibration``: uint8 BGR crops as ``crops`` gives them (``posetrack.pose.quantize``)."""
        if self.device.type != "cpu" or self.precision != "fp32":
            raise PosetrackError(f"int8 runs on the CPU from fp32; this estimator is {self.precision} on "
                                 f"{self.device.type}")
        if not isinstance(self.model, PoseResNet):
            raise PosetrackError(f"int8 quantizes a PoseResNet's backbone; got {type(self.model).__name__}")
        self.model = quantize_backbone(self.model, self._normalize(calibration))
        self.precision = "int8"
        return self

    def _crop(self, frame: np.ndarray, matrices: np.ndarray) -> torch.Tensor:
        if self.crop_backend == "torch":
            image = torch.from_numpy(frame).to(self.device, non_blocking=True).permute(2, 0, 1)
            return crop_torch(image, matrices, self.input_size)
        crops = torch.from_numpy(crop_cv2(frame, matrices, self.input_size))
        return crops.permute(0, 3, 1, 2)  # uint8, converted per batch on the device

    def _autocast(self):
        if self.precision == "fp16":
            return torch.autocast("cuda", dtype=torch.float16)
        if self.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _normalize(self, crops: torch.Tensor) -> torch.Tensor:
        """BGR crops in 0..255 -> what the network was trained on."""
        x = crops.to(self.device, non_blocking=True).float()
        if self.color_order == "rgb":
            x = x.flip(1)
        return (x - self.mean) / self.std

    @torch.inference_mode()
    def heatmaps(self, crops: torch.Tensor, features: bool = False):
        """Network output for ``(N, 3, H, W)`` BGR crops in 0..255, flip-averaged when flip test is on; with
        ``features``, ``(heatmaps, (N, C) pooled backbone features)``."""
        x = self._normalize(crops)
        n = x.shape[0]
        if self.flip_test:
            x = torch.cat([x, x.flip(3)])
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        if self.precision == "bf16" and isinstance(self.model, PoseResNet):
            # bfloat16 keeps 8 bits of mantissa. Through the last 1x1 conv that reorders nearly tied heatmap
            # peaks (3% of a trained network's joints moved by more than 0.5 px); with that cheap layer in fp32,
            # 99.3% stay within 0.5 px of fp32 at nearly the full bf16 speed (scripts/bench_pose.py).
            with self._autocast():
                backbone = self.model.backbone(x)
                head = self.model.deconv_layers(backbone)
            out = self.model.final_layer(head.float())
        elif features:
            with self._autocast():
                backbone = self.model.backbone(x)
                out = self.model.head(backbone).float()
        else:
            with self._autocast():
                out = self.model(x).float()
        pooled = pool_features(backbone.float()) if features else None
        if self.flip_test:
            out = (out[:n] + flip_back(out[n:], self.flip_permutation, self.shift_heatmap)) * 0.5
            if features:  # a crop and its mirror image: features that do not change when a person turns round
                pooled = (pooled[:n] + pooled[n:]) * 0.5
        return (out, pooled) if features else out

    def _infer(self, crops: torch.Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        coords, maxvals, pooled = [], [], []
        for start in range(0, crops.shape[0], self.batch_size):
            out = self.heatmaps(crops[start:start + self.batch_size], features=self.return_features)
            heatmaps = out[0] if self.return_features else out
            c, m = decode_heatmaps(heatmaps)
            coords.append(c.cpu())
            maxvals.append(m.cpu())
            if self.return_features:
                pooled.append(out[1].cpu())
        features = torch.cat(pooled).numpy() if pooled else None
        return torch.cat(coords).numpy(), torch.cat(maxvals).numpy(), features


def pool_features(features: torch.Tensor) -> torch.Tensor:
    """``(N, C)`` appearance features from ``(N, C, h, w)`` backbone maps: their mean over the crop. (Weighting
    the mean by where the heatmaps put the body told people apart less well: scripts/bench_appearance.py.)"""
    return features.mean((2, 3))


def _valid_boxes(boxes: np.ndarray) -> np.ndarray:
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    return np.isfinite(boxes).all(1) & (w >= 0) & (h >= 0) & ((w > 0) | (h > 0))


def _permutation(flip_pairs, num_joints: int) -> np.ndarray:
    perm = np.arange(num_joints)
    for a, b in flip_pairs:
        perm[a], perm[b] = b, a
    return perm
