"""``posetrack report``: a page per run or batch that shows where the tracker likely went wrong, without ground
truth (``flags``), and with it how right those flags were (``truth``)."""
from .flags import Flag, FlagConfig, find_flags
from .page import write_report

__all__ = ["Flag", "FlagConfig", "find_flags", "write_report"]
