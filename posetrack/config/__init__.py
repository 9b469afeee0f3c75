"""Typed configuration: dataclasses with the paper's defaults (``pipeline``, ``tracker``, ``post``), YAML files in
``configs/`` that map onto them one to one, and ``--set section.key=value`` overrides (``loader``).

Training recipes are dataclasses of ``posetrack.train.recipe`` loaded by the same loader.
"""
from .loader import (CONFIG_DIRS, apply_overrides, config_from_dict, config_to_dict, dump_config, find_config,
                     load_config, parse_override)
from .pipeline import (DETECTOR_ARCHITECTURES, DETECTOR_VARIANTS, JSON_FORMATS, OUTPUT_FORMATS, OUTPUT_SUFFIXES, DetectorConfig,
                       DetectorVariant, PipelineConfig, PoseConfig, RunConfig, VideoConfig, output_formats)
from .post import PostConfig
from .tracker import FLOWS, REDUCTIONS, SIMILARITIES, TABLE5, TrackerConfig

__all__ = ["CONFIG_DIRS", "DETECTOR_ARCHITECTURES", "DETECTOR_VARIANTS", "DetectorConfig", "DetectorVariant", "FLOWS", "JSON_FORMATS",
           "OUTPUT_FORMATS", "OUTPUT_SUFFIXES", "PipelineConfig", "PoseConfig", "PostConfig", "REDUCTIONS",
           "RunConfig", "SIMILARITIES", "TABLE5", "TrackerConfig", "VideoConfig", "apply_overrides",
           "config_from_dict", "config_to_dict", "dump_config", "find_config", "load_config", "output_formats",
           "parse_override"]
