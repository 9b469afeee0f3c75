"""Optical flow behind one interface: ``flow(prev_frame, frame) -> (H, W, 2) float32`` displacement in pixels.

Frames are BGR ``uint8`` as OpenCV reads them. ``flow[y, x]`` is where the content at ``(x, y)`` of
``prev_frame`` moves to in ``frame`` (forward flow ``F_{k-1→k}``, the direction joint propagation needs, §3.1).

The paper uses FlowNet2S (§4.2); here OpenCV's DIS (the CPU default), Farneback and torchvision's RAFT stand in.
Every method can run at a reduced ``scale``: the frames are shrunk, the flow is computed there, and the field is
resized back with its vectors multiplied by the per-axis size ratio, so callers always get full-resolution pixels.
"""
from __future__ import annotations

import abc
import os

import cv2
import numpy as np

from ..config.tracker import FLOWS
from ..devices import resolve_device
from ..errors import PosetrackError

DIS_PRESETS = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
               "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}


class OpticalFlow(abc.ABC):
    """Base class: handles the reduced ``scale``; subclasses implement ``_compute`` at the working size."""

    name = "flow"

    def __init__(self, scale: float = 1.0):
        if not 0 < scale <= 1:
            raise PosetrackError(f"flow scale must be in (0, 1], got {scale}; e.g. 0.5 computes flow at half size")
        self.scale = float(scale)

    def __call__(self, prev_frame: np.ndarray, frame: np.ndarray) -> np.ndarray:
        if prev_frame.shape != frame.shape:
            raise PosetrackError(f"optical flow needs two frames of one size, got {prev_frame.shape} and "
                                 f"{frame.shape}; resize the frames of the video consistently")
        h, w = frame.shape[:2]
        prev_frame, frame = self._prepare(prev_frame), self._prepare(frame)
        if self.scale == 1.0:
            return self._compute(prev_frame, frame)
        sw, sh = max(8, round(w * self.scale)), max(8, round(h * self.scale))
        small = self._compute(cv2.resize(prev_frame, (sw, sh), interpolation=cv2.INTER_AREA),
                              cv2.resize(frame, (sw, sh), interpolation=cv2.INTER_AREA))
        flow = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
        # Displacements measured in small-image pixels grow by the size ratio of each axis.
        flow *= np.array([w / sw, h / sh], dtype=np.float32)
        return flow

    def _prepare(self, frame: np.ndarray) -> np.ndarray:
        """Per-frame conversion done before any resizing (grey for the OpenCV methods: a third of the work)."""
        return frame

    @abc.abstractmethod
    def _compute(self, prev_frame: np.ndarray, frame: np.ndarray) -> np.ndarray:
        """``H x W x 2`` flow between two prepared frames of the working size."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(scale={self.scale})"


def _gray(frame: np.ndarray) -> np.ndarray:
    return frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


class DISFlow(OpticalFlow):
    """OpenCV's Dense Inverse Search: fast on one CPU core; ``preset`` trades speed for accuracy."""

    name = "dis"

    def __init__(self, preset: str = "medium", scale: float = 1.0):
        super().__init__(scale)
        if preset not in DIS_PRESETS:
            raise PosetrackError(f"unknown DIS preset {preset!r}; choose one of {', '.join(DIS_PRESETS)}")
        self.preset = preset
        self._dis = cv2.DISOpticalFlow_create(DIS_PRESETS[preset])

    _prepare = staticmethod(_gray)

    def _compute(self, prev_frame, frame):
        return self._dis.calc(prev_frame, frame, None)


class FarnebackFlow(OpticalFlow):
    """OpenCV's Farneback polynomial-expansion flow (OpenCV's documented example parameters, 5 levels)."""

    name = "farneback"

    def __init__(self, scale: float = 1.0, levels: int = 5, winsize: int = 15, iterations: int = 3):
        super().__init__(scale)
        self.levels, self.winsize, self.iterations = levels, winsize, iterations

    _prepare = staticmethod(_gray)

    def _compute(self, prev_frame, frame):
        return cv2.calcOpticalFlowFarneback(prev_frame, frame, None, pyr_scale=0.5,
                                            levels=self.levels, winsize=self.winsize, iterations=self.iterations,
                                            poly_n=5, poly_sigma=1.1, flags=0)


class RaftFlow(OpticalFlow):
    """torchvision's RAFT (``small`` or ``large``), the GPU-friendly choice.

    ``weights="DEFAULT"`` loads torchvision's pretrained weights (downloaded once into torch hub's ``checkpoints``
    directory); ``weights=None`` keeps the random initialisation (tests); any other string names a member of
    ``Raft_Small_Weights`` / ``Raft_Large_Weights``.
    """

    def __init__(self, size: str = "small", weights: str | None = "DEFAULT", device: str = "cpu",
                 scale: float = 1.0, iterations: int = 12):
        super().__init__(scale)
        import torch
        from torchvision.models import optical_flow as of

        if size not in ("small", "large"):
            raise PosetrackError(f"unknown RAFT size {size!r}; choose 'small' or 'large'")
        device = resolve_device(device)
        self.name = f"raft_{size}"
        enum = of.Raft_Small_Weights if size == "small" else of.Raft_Large_Weights
        builder = of.raft_small if size == "small" else of.raft_large
        model = builder(weights=None)
        if weights is not None:
            try:
                chosen = enum[weights] if isinstance(weights, str) else enum(weights)
            except (KeyError, ValueError):
                raise PosetrackError(f"unknown RAFT weights {weights!r}; choose one of "
                                     f"{', '.join(['DEFAULT'] + list(enum.__members__))} or None") from None
            model.load_state_dict(_load_raft_state(chosen))
        self.device = torch.device(device)
        self.model = model.eval().to(self.device)
        self.iterations = iterations

    def _compute(self, prev_frame, frame):
        import torch
        import torch.nn.functional as F

        h, w = frame.shape[:2]
        pair = np.stack([prev_frame, frame])[..., ::-1]  # RAFT was trained on RGB
        images = torch.from_numpy(np.ascontiguousarray(pair)).to(self.device).permute(0, 3, 1, 2).float()
        images = images / 127.5 - 1.0  # torchvision's OpticalFlow preset: [0, 255] -> [-1, 1]
        # RAFT's encoders downsample by 8 and its correlation pyramid needs >= 16 cells a side: pad bottom/right
        # by edge replication to a multiple of 8 and at least 128, then crop the flow back, so the pixels that
        # exist keep their coordinates.
        ph, pw = max(128, h + (-h % 8)) - h, max(128, w + (-w % 8)) - w
        if ph or pw:
            images = F.pad(images, (0, pw, 0, ph), mode="replicate")
        with torch.inference_mode():
            flow = self.model(images[:1], images[1:], num_flow_updates=self.iterations)[-1]
        return flow[0, :, :h, :w].permute(1, 2, 0).float().cpu().numpy()


def _load_raft_state(weights) -> dict:
    import torch

    file_name = os.path.basename(weights.url)
    target = os.path.join(torch.hub.get_dir(), "checkpoints")
    try:
        return weights.get_state_dict(progress=False, check_hash=True)
    except (OSError, RuntimeError) as err:  # URLError is an OSError; a corrupt file raises RuntimeError
        raise PosetrackError(f"could not load RAFT weights {weights} ({type(err).__name__}: {err}); offline, "
                             f"download {weights.url} and place it as {os.path.join(target, file_name)}") from None


def flow_from_config(c) -> OpticalFlow:
    """The optical flow a ``TrackerConfig`` asks for, with only the options that method takes."""
    options = {"scale": c.flow_scale}
    if c.flow == "dis":
        options["preset"] = c.flow_preset
    elif c.flow.startswith("raft"):
        options["device"] = c.flow_device
        options["weights"] = None if c.flow_weights.lower() == "none" else c.flow_weights
    return make_flow(c.flow, **options)


def make_flow(name: str = "dis", **options) -> OpticalFlow:
    """Build a flow method by name: ``dis`` (options ``preset``, ``scale``), ``farneback`` (``scale``, ...),
    ``raft_small`` / ``raft_large`` (``weights``, ``device``, ``scale``, ``iterations``)."""
    try:
        if name == "dis":
            return DISFlow(**options)
        if name == "farneback":
            return FarnebackFlow(**options)
        if name in ("raft_small", "raft_large"):
            return RaftFlow(size=name[5:], **options)
    except TypeError as err:
        raise PosetrackError(f"bad option for flow {name!r}: {err}") from None
    raise PosetrackError(f"unknown optical flow {name!r}; choose one of {', '.join(FLOWS)}")
