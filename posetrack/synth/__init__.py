"""A synthetic multi-person world with exact ground truth, written in the real PoseTrack 2018 and COCO layouts.

No real data can be downloaded in the test environment, yet the tracker, the pipeline and the training must see
moving, occluding people. ``make_sequence`` renders articulated 2D people walking and running across a cluttered
backdrop (with camera pan and zoom, people entering and leaving, scale changes and crossings) and returns the
frames with their ground truth; ``noisy_observations`` turns that ground truth into detector- and pose-network-
like outputs; ``write_dataset`` (the ``posetrack synth`` command) writes images, PoseTrack 2018 annotation
files, a COCO keypoint file and MP4 videos.
"""
from .noise import noisy_observations
from .sequence import SynthSequence, file_ground_truth, make_sequence

__all__ = ["make_sequence", "SynthSequence", "file_ground_truth", "noisy_observations"]
