"""The user-facing runs: ``posetrack run`` (one video) and ``posetrack batch`` (a data set), their crash-safe
outputs, timing, and the torchrun scale-out. ``posetrack.pipeline`` chains the stages; this package feeds it
inputs and turns its per-frame results into files."""
