"""Does a pose network tell left from right? A report per limb on PoseTrack-format ground truth.

    python scripts/diagnose_left_right.py --weights demo --gt data/synthetic/annotations/val [--images data/synthetic]

Every labelled person is cropped from its ground-truth keypoint box (+15%, as ``posetrack test --boxes gt``), run
through the network with flip test, and each left/right pair of joints (shoulders ... ankles) is scored at the PCKh
threshold the evaluation uses (half of 0.6 x the head-box diagonal). Columns:

* ``same pred`` / ``same gt``: how often the two joints of a pair sit at one point (predicted: the same heatmap
  pixel; ground truth: closer than a quarter of the threshold). A network that cannot tell the sides apart learns
  one heatmap for both and puts the two joints on whichever limb is brighter: ``same pred`` near 1 where
  ``same gt`` is near 0.
* ``correct``: joints within the threshold (what AP and MOTA reward).
* ``swapped``: pairs whose two joints are both correct only after exchanging left and right.
* ``with sides``: the joints that would be correct if the network's two strongest heatmap modes were handed to the
  sides correctly (an oracle that knows left from right): what the network localises, setting the side aside.
  The gap between ``correct`` and ``with sides`` is what confusing the sides costs.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from posetrack.errors import PosetrackError  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", required=True, help="pose weights: a registry name, 'demo' or a checkpoint file")
    ap.add_argument("--gt", required=True, help="folder of PoseTrack 2018 ground-truth <sequence>.json files")
    ap.add_argument("--images", default=None, help="folder the files' image names are relative to "
                    "(default: two levels above --gt, i.e. ROOT of ROOT/annotations/SPLIT)")
    ap.add_argument("--every", type=int, default=1, help="use every n-th person (default: all)")
    ap.add_argument("--no-flip", action="store_true", help="no flip test")
    ap.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    args = ap.parse_args(argv)
    try:
        from posetrack.pose.estimator import PoseEstimator
        from posetrack.train.sides import format_counts, side_counts

        est = PoseEstimator.from_checkpoint(args.weights, device=args.device, flip_test=not args.no_flip)
        totals = side_counts(est, args.gt, args.images, args.every)
    except PosetrackError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{args.weights} on {args.gt} (ground-truth boxes, {'no flip' if args.no_flip else 'flip test'})")
    print("\n".join(format_counts(totals)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
