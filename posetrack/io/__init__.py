"""Frames in and out: ``open_source`` streams a video file or an image folder (decoded ahead on a thread,
``ahead.ReadAhead``), ``VideoWriter`` writes H.264 MP4."""
from .sources import FrameSource, open_source
from .video import SourceFrame, SourceInfo
from .writer import VideoWriter

__all__ = ["FrameSource", "SourceFrame", "SourceInfo", "VideoWriter", "open_source"]
