"""The left/right report: counts on hand-built heatmaps, and the script end to end on a synthetic split."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from posetrack.train.sides import pair_counts
from test_decode import gaussian
from test_train import small_synth

ROOT = Path(__file__).resolve().parents[1]
A, B = (6, 10), (20, 12)   # the two limbs' joints, heatmap pixels (x, y)


def heatmaps(left: list, right: list, k: int = 17, h: int = 24, w: int = 32) -> torch.Tensor:
    """One person; the ankle channels (15, 16) hold Gaussians at the given ``(x, y, height)`` points."""
    hm = torch.zeros(1, k, h, w)
    for channel, points in ((15, left), (16, right)):
        for x, y, height in points:
            hm[0, channel] = torch.maximum(hm[0, channel], torch.from_numpy(gaussian(h, w, x, y) * height))
    return hm


def truth(left, right) -> np.ndarray:
    gt = np.zeros((1, 17, 3), np.float32)
    gt[0, 15] = (*left, 1)
    gt[0, 16] = (*right, 1)
    return gt


def counts(hm, gt):
    return pair_counts(hm, lambda c: c, gt, np.array([2.0]), pairs={"ankle": (15, 16)})["ankle"]


def test_one_heatmap_for_both_sides_puts_both_joints_on_one_limb():
    both = [(*A, 1.0), (*B, 0.8)]
    c = counts(heatmaps(both, both), truth(A, B))
    assert c == {"pairs": 1, "same_pred": 1, "same_gt": 0, "correct": 1, "swapped": 0, "with_sides": 2}


def test_a_network_that_knows_the_sides():
    c = counts(heatmaps([(*A, 1.0), (*B, 0.2)], [(*B, 1.0), (*A, 0.2)]), truth(A, B))
    assert c == {"pairs": 1, "same_pred": 0, "same_gt": 0, "correct": 2, "swapped": 0, "with_sides": 2}


def test_swapped_sides_and_a_weak_second_mode_that_does_not_count():
    c = counts(heatmaps([(*B, 1.0)], [(*A, 1.0)]), truth(A, B))
    assert c["swapped"] == 1 and c["correct"] == 0
    weak = [(*A, 1.0), (*B, 0.1)]   # under min_ratio (0.3) of the peak: not a second limb
    c = counts(heatmaps(weak, weak), truth(A, B))
    assert c["same_pred"] == 1 and c["correct"] == 1 and c["with_sides"] == 1


def test_joints_that_truly_coincide():
    one = [(*A, 1.0)]
    c = counts(heatmaps(one, one), truth(A, A))
    assert c["same_gt"] == 1 and c["same_pred"] == 1 and c["correct"] == 2 and c["with_sides"] == 2


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    return small_synth(tmp_path_factory, "val")


def script(*args):
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "diagnose_left_right.py"), *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def test_script_reports_every_limb_of_the_packaged_network(synth):
    from posetrack.formats import posetrack18
    from posetrack.pose.estimator import PoseEstimator
    from posetrack.train.sides import PAIRS, format_counts, side_counts

    gt = synth / "annotations" / "val"
    done = script("--weights", "demo", "--gt", gt, "--every", "2")
    assert done.returncode == 0, done.stderr
    # The table is the library's, for the same network and people.
    totals = side_counts(PoseEstimator.from_checkpoint("demo", flip_test=True), gt, every=2)
    assert done.stdout.splitlines()[1:] == format_counts(totals)
    # The pair counts, from the ground truth itself: every second person with a head box and two labelled
    # joints, then the limbs whose two joints are both labelled.
    people = [k for path in sorted(gt.glob("*.json")) for f in posetrack18.read_sequence(path).frames
              for k, head in zip(f.keypoints, f.head_boxes) if np.isfinite(head).all() and (k[:, 2] > 0).sum() >= 2]
    kept = np.array(people[::2])
    expected = {name: int(((kept[:, a, 2] > 0) & (kept[:, b, 2] > 0)).sum()) for name, (a, b) in PAIRS.items()}
    assert {name: c["pairs"] for name, c in totals.items()} == expected


def test_script_bad_folder_is_one_line(tmp_path):
    done = script("--weights", "demo", "--gt", tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "no PoseTrack annotation files" in done.stderr
