"""``PostConfig``: what is done to a run's tracks after tracking (the ``post`` section of a config).

Defaults are off (no smoothing, no gap filling), so results stay the paper's unless asked for. Values are
checked when the config is built; the loader turns a bad value into one line naming the key and where it came
from. ``posetrack.results`` does the work; ``posetrack.pipeline`` applies it to a run's final files.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SMOOTHERS = ("none", "one-euro", "savgol")


@dataclass
class PostConfig:
    """Smoothing and gap filling of tracked keypoints, per track and joint.

    ``smooth``: ``one-euro`` (online: a frame's output depends on earlier frames only; Casiez et al., CHI 2012)
    or ``savgol`` (offline Savitzky-Golay through ``scipy.signal``). Both restart after a joint's gap, so a person
    who reappears elsewhere is not dragged from the old place. ``fill_gaps``: a joint missing for at most this many
    frames between two observations of its track is filled in linearly and marked as interpolated.
    The One-Euro cut-offs are in Hz (the frame rate comes with the call), its ``beta`` in 1/pixel.
    """

    smooth: Literal["none", "one-euro", "savgol"] = "none"
    fill_gaps: int = 0
    one_euro_min_cutoff: float = 1.0   # Hz: the cut-off of a still joint; lower = smoother, more lag
    one_euro_beta: float = 0.1         # the cut-off grows by beta * speed (px/s): fast motion lags less
    one_euro_d_cutoff: float = 1.0     # Hz: the cut-off of the speed estimate
    savgol_window: int = 9             # frames, odd; shorter runs of a joint use the largest odd window that fits
    savgol_order: int = 2              # polynomial order, < savgol_window

    def __post_init__(self):
        checks = [
            (self.smooth in SMOOTHERS, f"post.smooth must be one of {', '.join(SMOOTHERS)}, got {self.smooth!r}"),
            (_int(self.fill_gaps) and self.fill_gaps >= 0, f"post.fill_gaps must be an integer >= 0, got "
                                                           f"{self.fill_gaps!r}"),
            (self.one_euro_min_cutoff > 0, f"post.one_euro_min_cutoff must be > 0 Hz, got {self.one_euro_min_cutoff}"),
            (self.one_euro_beta >= 0, f"post.one_euro_beta must be >= 0, got {self.one_euro_beta}"),
            (self.one_euro_d_cutoff > 0, f"post.one_euro_d_cutoff must be > 0 Hz, got {self.one_euro_d_cutoff}"),
            (_int(self.savgol_window) and self.savgol_window >= 3 and self.savgol_window % 2 == 1,
             f"post.savgol_window must be an odd integer >= 3, got {self.savgol_window!r}"),
            (_int(self.savgol_order) and 0 <= self.savgol_order < self.savgol_window,
             f"post.savgol_order must be an integer in [0, savgol_window), got {self.savgol_order!r}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    @property
    def active(self) -> bool:
        return self.smooth != "none" or self.fill_gaps > 0


def _int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
