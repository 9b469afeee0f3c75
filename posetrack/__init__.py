"""posetrack: multi-person pose estimation and tracking in video (Simple Baselines, Xiao, Wu, Wei, ECCV 2018).

The public API is imported lazily so that ``import posetrack`` (and the CLI's ``--help``) does not pay for torch.
"""
__version__ = "0.1.0"

__all__ = ["PoseEstimator", "PoseResNet", "PosetrackError", "__version__"]


def __getattr__(name):
    if name == "PoseEstimator":
        from .pose.estimator import PoseEstimator
        return PoseEstimator
    if name == "PoseResNet":
        from .pose.network import PoseResNet
        return PoseResNet
    if name == "PosetrackError":
        from .errors import PosetrackError
        return PosetrackError
    raise AttributeError(f"module 'posetrack' has no attribute {name!r}")
