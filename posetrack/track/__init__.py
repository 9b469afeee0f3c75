"""Tracking (§3 of the paper): optical flow, joint propagation, similarities, greedy matching, the tracker.

``FlowTracker(config)`` is the whole story: ``propose`` the boxes the pose network must see, ``assign`` ids to the
poses estimated in them (or ``update`` with a pose function, ``update_poses`` for poses you already have). The
modules below are its parts; its settings are ``posetrack.config.TrackerConfig``.
"""
from ..config.tracker import TABLE5, TrackerConfig
from .flow import DISFlow, FarnebackFlow, OpticalFlow, RaftFlow, flow_from_config, make_flow
from .offline import track_sequence
from .relink import relabel
from .similarity import Candidates, make_similarity
from .tracker import FlowTracker, Proposal, TrackedFrame

__all__ = ["Candidates", "DISFlow", "FarnebackFlow", "FlowTracker", "OpticalFlow", "Proposal", "RaftFlow", "TABLE5",
           "TrackedFrame", "TrackerConfig", "flow_from_config", "make_flow", "make_similarity", "relabel",
           "track_sequence"]
