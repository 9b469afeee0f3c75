"""Person detection: where the boxes of §2's top-down pose estimation come from.

``make_box_source(config)`` (``sources``) gives a torchvision Faster R-CNN (``faster_rcnn``), a detections file
or ground-truth keypoint boxes (``files``); all follow ``base.BoxSource``. The detector module (and torch) is
imported only when a detector is built.
"""
from .base import BoxSource, Detections, top_detections
from .sources import make_box_source

__all__ = ["BoxSource", "Detections", "make_box_source", "top_detections"]
