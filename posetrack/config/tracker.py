"""The tracker's settings (§3 of the paper) and the switches of its Table 5 ablation.

They live here, beside the other sections, rather than in ``posetrack.track``: the configuration is shared by the
whole tree and must not depend on any stage. ``posetrack.track`` builds its flow and similarities from these names.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import PosetrackError
from ..geometry import BOX_ENLARGE
from ..layouts import get_layout

FLOWS = ("dis", "farneback", "raft_small", "raft_large")
SIMILARITIES = ("bbox", "pose", "flow", "multiflow")
REDUCTIONS = ("max", "mean")


@dataclass
class TrackerConfig:
    """Tracker settings. Paper values where the paper gives one (§3, §4.2); the others were chosen with
    ``scripts/bench_track.py`` (see the README)."""

    flow: str = "dis"                 # dis | farneback | raft_small | raft_large (the paper: FlowNet2S)
    flow_preset: str = "medium"       # DIS only: ultrafast | fast | medium
    flow_scale: float = 0.5           # compute flow at this fraction of the frame size
    flow_device: str = "cpu"          # RAFT only
    flow_weights: str = "DEFAULT"     # RAFT only: torchvision's weights (DEFAULT or a member name); none: random
    propagate: bool = True            # joint propagation + box unification (§3.1, §3.3)
    similarity: str = "multiflow"     # bbox | pose | flow | multiflow (§3.2)
    queue_length: int = 10            # L_Q: frames a track stays matchable; appearances S_Multi-Flow uses
    reduction: str = "max"            # how S_Multi-Flow combines the queue's appearances: max | mean
    match_threshold: float = 0.1      # a pair less similar than this is no match: the pose starts a new track
    nms_iou: float = 0.5              # box NMS over detector ∪ propagated boxes
    propagated_decay: float = 0.95    # a propagated box scores its previous box's score times this
    det_threshold: float = 0.5        # drop people scoring below (§4.2)
    joint_threshold: float = 0.4      # zero joints scoring below in the output (§4.2)
    joint_min_score: float = 0.2      # joints that are propagated and counted in OKS (official IN_VIS_THRE)
    min_common_joints: int = 3        # OKS over fewer shared joints is shrunk by n / this (see similarity.py)
    box_enlarge: float = BOX_ENLARGE  # propagated box = joints' box enlarged by 15% (§3.1)
    pose_nms: float = 0.5             # drop a pose whose OKS with a better one exceeds this (1.0: off); see assign
    layout: str = "posetrack18"       # joint layout of the poses (OKS sigmas)
    # Re-linking lost tracks (beyond the paper; track/relink.py). 0 is the paper's Algorithm 1 exactly (the Table 5
    # rows and the paper configs); 4 s was chosen on the occlusion scenario (see the README).
    relink_seconds: float = 4.0       # keep a track that left the queue this long (seconds of video)
    relink_gate: float = 1.5          # a pose within this many box heights of where the lost track may be ...
    relink_gate_growth: float = 0.5   # ... plus this many per second lost
    relink_scale: float = 1.5         # box heights of the pose and the track within this ratio
    relink_min_similarity: float = 0.5  # colour histograms' Bhattacharyya coefficient at least this ...
    relink_margin: float = 0.05       # ... and this much above the next lost track's (people dressed alike)
    relink_veto_similarity: float = 0.3  # a queue match after a gap whose colours are below this is undone (0: off)
    relink_velocity_decay: float = 0.5  # a lost track's own velocity kept per second (0: stops at once)
    relink_sample_every: int = 5      # a live track's colours sampled every this many frames ...
    relink_visible_fraction: float = 0.7  # ... from poses with at least this share of joints confident
    relink_contest_ratio: float = 0.5   # a match with a rival at least this fraction as similar ... (1: off)
    relink_contest_power: float = 0.5   # ... has its similarity times colour similarity ** this (track/contest.py)

    def __post_init__(self):
        checks = [(self.flow in FLOWS, f"flow must be one of {', '.join(FLOWS)}, got {self.flow!r}"),
                  (self.similarity in SIMILARITIES,
                   f"similarity must be one of {', '.join(SIMILARITIES)}, got {self.similarity!r}"),
                  (self.reduction in REDUCTIONS,
                   f"reduction must be one of {', '.join(REDUCTIONS)}, got {self.reduction!r}"),
                  (int(self.queue_length) >= 1, f"queue_length must be >= 1, got {self.queue_length}"),
                  (0 <= self.nms_iou <= 1, f"nms_iou must be in [0, 1], got {self.nms_iou}"),
                  (0 < self.flow_scale <= 1, f"flow_scale must be in (0, 1], got {self.flow_scale}"),
                  (self.relink_seconds >= 0, f"relink_seconds must be >= 0 (0: off), got {self.relink_seconds}"),
                  (self.relink_gate > 0 and self.relink_gate_growth >= 0,
                   f"relink_gate must be > 0 and relink_gate_growth >= 0, got {self.relink_gate} and "
                   f"{self.relink_gate_growth}"),
                  (self.relink_scale >= 1, f"relink_scale must be >= 1, got {self.relink_scale}"),
                  (0 <= self.relink_min_similarity <= 1,
                   f"relink_min_similarity must be in [0, 1], got {self.relink_min_similarity}"),
                  (0 <= self.relink_margin <= 1, f"relink_margin must be in [0, 1], got {self.relink_margin}"),
                  (0 <= self.relink_veto_similarity <= 1,
                   f"relink_veto_similarity must be in [0, 1], got {self.relink_veto_similarity}"),
                  (0 <= self.relink_velocity_decay <= 1,
                   f"relink_velocity_decay must be in [0, 1], got {self.relink_velocity_decay}"),
                  (int(self.relink_sample_every) >= 1,
                   f"relink_sample_every must be >= 1, got {self.relink_sample_every}"),
                  (0 <= self.relink_visible_fraction <= 1,
                   f"relink_visible_fraction must be in [0, 1], got {self.relink_visible_fraction}"),
                  (0 <= self.relink_contest_ratio <= 1,
                   f"relink_contest_ratio must be in [0, 1] (1: off), got {self.relink_contest_ratio}"),
                  (self.relink_contest_power >= 0,
                   f"relink_contest_power must be >= 0 (0: off), got {self.relink_contest_power}")]
        for ok, what in checks:
            if not ok:
                raise PosetrackError(f"tracker config: {what}")
        get_layout(self.layout)

    @classmethod
    def from_table5(cls, row: str, **overrides) -> "TrackerConfig":
        """The switches of one row of the paper's Table 5 (``a1`` ... ``c6``), plus any overrides."""
        if row not in TABLE5:
            raise PosetrackError(f"unknown Table 5 row {row!r}; choose one of {', '.join(TABLE5)}")
        return cls(**{**TABLE5[row], **overrides})


# Table 5's tracking switches. Rows a/b/c differ only in backbone and detector, not in tracking, so their
# switches coincide: 1, 2 without joint propagation; 3-6 with it; similarity bbox, pose, bbox, pose, flow, multiflow.
_ROWS = [(False, "bbox"), (False, "pose"), (True, "bbox"), (True, "pose"), (True, "flow"), (True, "multiflow")]
TABLE5 = {f"{group}{i + 1}": dict(propagate=prop, similarity=sim, relink_seconds=0.0)
          for group in "abc" for i, (prop, sim) in enumerate(_ROWS)}
