"""Overlay drawing: ``draw_poses`` (skeletons, boxes, ids, trails) and the fixed colour of each track id."""
from .colors import track_color, track_colors
from .draw import Trails, draw_poses

__all__ = ["Trails", "draw_poses", "track_color", "track_colors"]
