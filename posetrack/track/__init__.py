"""Tracking (§3 of the paper): optical flow, joint propagation, similarities, greedy matching, the tracker.

``FlowTracker(config).update(frame, boxes, scores)`` is the whole story; the modules below are its parts.
"""
from .flow import DISFlow, FarnebackFlow, OpticalFlow, RaftFlow, make_flow
from .similarity import Candidates, make_similarity
from .tracker import TABLE5, FlowTracker, TrackedFrame, TrackerConfig, flow_from_config

__all__ = ["Candidates", "DISFlow", "FarnebackFlow", "FlowTracker", "OpticalFlow", "RaftFlow", "TABLE5",
           "TrackedFrame", "TrackerConfig", "flow_from_config", "make_flow", "make_similarity"]
