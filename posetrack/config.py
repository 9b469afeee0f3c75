"""Typed configuration: dataclasses with the paper's defaults, YAML files that map onto them one to one, and
``--set a.b=c`` overrides.

The loader is generic: ``load_config(cls, path, overrides)`` fills any (nested) dataclass, so the tracker's and
the trainer's configs use it too. Values are checked against the field types (``bool``, ``int``, ``float``,
``str``, ``Literal``, ``X | None``, ``list``/``tuple``, ``dict``, nested dataclasses); a mistake raises
``PosetrackError`` naming the key, the file (or the ``--set``) and, for a misspelt key or choice, the closest
valid one. ``config_to_dict``/``dump_config`` give the plain form that is recorded next to outputs and inside
checkpoints, and that loads back to an equal config.
"""
from __future__ import annotations

import dataclasses
import difflib
import os
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from .atomic import write_text
from .errors import PosetrackError
from .track.tracker import TrackerConfig

DetectorVariant = Literal["resnet50_fpn", "resnet50_fpn_v2", "mobilenet_v3_large_fpn", "mobilenet_v3_large_320_fpn"]


@dataclass
class DetectorConfig:
    """Where person boxes come from. ``source``: ``model`` (torchvision Faster R-CNN), ``file`` (a COCO results
    or PoseTrack JSON given by ``file``) or ``gt`` (keypoint boxes of a PoseTrack ground-truth ``file``, +15%,
    the paper's GT-box ablation). ``file`` may be a folder holding one ``<sequence>.json`` per video."""

    source: Literal["model", "file", "gt"] = "model"
    variant: DetectorVariant = "resnet50_fpn"
    weights: str | None = None  # None: torchvision's DEFAULT (COCO) weights; else a local state_dict file
    file: str | None = None
    score_threshold: float = 0.5  # the paper drops detections scoring below 0.5 (§4.2)
    min_size: int = 800  # torchvision's (and Detectron's) test scale
    max_size: int = 1333
    batch_size: int = 4  # frames per detector forward
    fp16: bool = True  # autocast on CUDA; ignored on CPU

    def __post_init__(self):
        _check(0 <= self.score_threshold <= 1, "detector.score_threshold must be in [0, 1]")
        _check(0 < self.min_size <= self.max_size, "detector.min_size must be positive and <= max_size")
        _check(self.batch_size >= 1, "detector.batch_size must be >= 1")
        _check(self.source == "model" or self.file, f"detector.source={self.source} needs detector.file")


@dataclass
class PoseConfig:
    """The pose network (§2): a registry name (``posetrack weights list``) or a checkpoint path."""

    weights: str = "mmpose_res50_coco_256x192"
    flip_test: bool = True  # average with the flipped image's heatmaps (§4.1)
    batch_size: int = 64  # person crops per forward
    fp16: bool = True  # on CUDA
    bf16: bool = False  # bfloat16 instead of float16 (Ampere and newer)

    def __post_init__(self):
        _check(self.batch_size >= 1, "pose.batch_size must be >= 1")


@dataclass
class VideoConfig:
    """The overlay video (H.264 MP4): what to draw."""

    write: bool = True
    draw_boxes: bool = True
    draw_ids: bool = True
    trails: int = 0  # motion trail length in frames (0: none)
    kpt_threshold: float = 0.4  # joints below are not drawn; the paper drops them at 0.4 (§4.2)
    crf: int = 23  # x264 quality: lower is better and bigger; 18 looks lossless
    preset: Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow"] = "veryfast"

    def __post_init__(self):
        _check(self.trails >= 0, "video.trails must be >= 0")
        _check(0 <= self.crf <= 51, "video.crf must be in [0, 51]")


@dataclass
class RunConfig:
    """How a run executes and what it writes."""

    device: str = "auto"  # auto (CUDA when available), cpu, cuda, cuda:N
    read_ahead: int = 8  # decoded frames queued ahead of the models
    overlap: bool = True  # flow, detector batches and overlay encoding on their own threads (posetrack.run.overlap)
    folder_fps: float = 25.0  # frame rate of image-folder inputs (PoseTrack's nominal rate)
    output_format: Literal["posetrack18", "posetrack17", "coco"] = "posetrack18"
    quiet: bool = False

    def __post_init__(self):
        dev = self.device
        _check(dev in ("auto", "cpu", "cuda") or (dev.startswith("cuda:") and dev[5:].isdigit()),
               f"run.device must be auto, cpu, cuda or cuda:N, got {dev!r}")
        _check(self.read_ahead >= 0, "run.read_ahead must be >= 0")
        _check(self.folder_fps > 0, "run.folder_fps must be positive")


@dataclass
class PipelineConfig:
    """Everything ``posetrack run`` needs, one section per stage."""

    detector: DetectorConfig = field(default_factory=DetectorConfig)
    pose: PoseConfig = field(default_factory=PoseConfig)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    video: VideoConfig = field(default_factory=VideoConfig)
    run: RunConfig = field(default_factory=RunConfig)


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


# ---------------------------------------------------------------- loading

# The repository's configs/ (editable installs), then where a regular install puts them (setup.cfg data_files).
CONFIG_DIRS = (Path(__file__).resolve().parent.parent / "configs", Path(__file__).resolve().parent / "configs",
               Path(sys.prefix) / "share" / "posetrack" / "configs")


def find_config(name: str | os.PathLike) -> Path:
    """A config file path as it is, or the name of a shipped config (``paper_r50_256x192``) -> its file."""
    path = Path(name)
    if path.is_file():
        return path
    for folder in CONFIG_DIRS:
        for candidate in (folder / f"{name}.yaml", folder / str(name)):
            if candidate.is_file():
                return candidate
    shipped = sorted({p.stem for d in CONFIG_DIRS if d.is_dir() for p in d.glob("*.yaml")})
    raise PosetrackError(f"config {str(name)!r} not found: not a file, nor one of the shipped configs "
                         f"({', '.join(shipped) or 'none'})")


def load_config(cls, path: str | os.PathLike | None = None, overrides: typing.Iterable[str] = ()):
    """An instance of dataclass ``cls`` from the YAML file ``path`` (defaults where it is silent), then
    ``overrides`` (``"a.b=c"`` strings, values parsed as YAML) applied in order."""
    data: Any = {}
    where = "defaults"
    if path is not None:
        file = find_config(path)
        where = str(file)
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8"))
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            at = f" line {mark.line + 1}" if mark is not None else ""
            raise PosetrackError(f"{where}:{at} not valid YAML ({getattr(err, 'problem', err)})") from None
        except OSError as err:
            raise PosetrackError(f"{where}: cannot read ({err.strerror})") from None
        data = {} if data is None else data
    config = config_from_dict(cls, data, where)
    return apply_overrides(config, overrides)


def config_from_dict(cls, data: Any, where: str = "<config>", prefix: str = ""):
    """Build dataclass ``cls`` from a plain mapping, checking every key and value (``where`` names the source)."""
    if not isinstance(data, dict):
        raise PosetrackError(f"{where}: {prefix.rstrip('.') or 'the top level'} must be a mapping of keys to "
                             f"values, got {_describe(data)}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    values = {}
    for key, value in data.items():
        if key not in names:
            raise PosetrackError(f"{where}: unknown key {prefix}{key!s}{_did_you_mean(str(key), names, prefix)}")
        values[key] = _convert(value, hints[key], where, f"{prefix}{key}")
    return _construct(cls, values, where, prefix)


def apply_overrides(config, overrides: typing.Iterable[str]):
    """Apply ``--set`` style ``"a.b=c"`` overrides to a config dataclass (in place; also returned)."""
    overrides = list(overrides)
    for text in overrides:
        keys, value = parse_override(text)
        _set(config, keys, value, f"--set {text}", "")
    if overrides:
        # Rules between fields are checked once all overrides are in, so their order does not matter.
        _revalidate(config, "--set " + " --set ".join(overrides))
    return config


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"detector.min_size=600"`` -> ``(["detector", "min_size"], 600)``; the value is read as YAML."""
    key, sep, raw = text.partition("=")
    keys = key.strip().split(".")
    if not sep or not all(k.strip() for k in keys):
        raise PosetrackError(f"--set {text}: expected KEY=VALUE with a dotted key, e.g. detector.min_size=600")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw  # not YAML (e.g. an unbalanced bracket): take the text as it is
    return [k.strip() for k in keys], value


def config_to_dict(config) -> dict:
    """The plain ``dict`` form of a config dataclass (what YAML files hold)."""
    def plain(value):
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if isinstance(value, os.PathLike):
            return os.fspath(value)
        return value
    return plain(config)


def dump_config(config, path: str | os.PathLike | None = None) -> str:
    """The YAML text of a config (written atomically to ``path`` when given)."""
    text = yaml.safe_dump(config_to_dict(config), sort_keys=False, default_flow_style=False)
    if path is not None:
        write_text(path, text)
    return text


# ---------------------------------------------------------------- internals

def _set(obj, keys: list[str], value: Any, where: str, prefix: str, hint: Any = dict) -> None:
    key, rest = keys[0], keys[1:]
    if isinstance(obj, dict):  # a mapping section: any key, values of the mapping's value type when it has one
        args = typing.get_args(hint)
        value_hint = args[1] if len(args) == 2 else Any
        if rest:
            child = obj.setdefault(key, {})
            _set(child, rest, value, where, f"{prefix}{key}.", value_hint if isinstance(child, dict) else dict)
        else:
            obj[key] = _convert(value, value_hint, where, f"{prefix}{key}")
        return
    if not dataclasses.is_dataclass(obj):
        raise PosetrackError(f"{where}: {prefix.rstrip('.')} is a {_describe(obj)}, it has no key {key!r}")
    names = [f.name for f in dataclasses.fields(obj)]
    if key not in names:
        raise PosetrackError(f"{where}: unknown key {prefix}{key}{_did_you_mean(key, names, prefix)}")
    hint = typing.get_type_hints(type(obj))[key]
    current = getattr(obj, key)
    if rest or (isinstance(value, dict) and dataclasses.is_dataclass(current)):
        if rest:
            _set(current, rest, value, where, f"{prefix}{key}.", hint)
        else:  # a mapping on a section merges into it: --set detector='{variant: x, min_size: 600}'
            for sub, sub_value in value.items():
                _set(current, [str(sub)], sub_value, where, f"{prefix}{key}.")
    else:
        setattr(obj, key, _convert(value, hint, where, f"{prefix}{key}"))


def _revalidate(config, where: str) -> None:
    """Run every section's ``__post_init__`` checks again (by rebuilding it) after fields were set."""
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value):
            _revalidate(value, where)
    _construct(type(config), {f.name: getattr(config, f.name) for f in dataclasses.fields(config) if f.init},
               where, "")


def _construct(cls, values: dict, where: str, prefix: str):
    try:
        return cls(**values)
    except (ValueError, TypeError) as err:
        raise PosetrackError(f"{where}: {err}") from None
    except PosetrackError as err:
        raise PosetrackError(f"{where}: {err}") from None


def _convert(value: Any, hint: Any, where: str, key: str) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return value
    if dataclasses.is_dataclass(hint):
        return config_from_dict(hint, value, where, f"{key}.")
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        errors = []
        for option in options:
            try:
                return _convert(value, option, where, key)
            except PosetrackError as err:
                errors.append(err)
        if len(options) == 1:
            raise errors[0]
        raise PosetrackError(f"{where}: {key} must be {_type_name(hint)}, got {_describe(value)}")
    if origin is Literal:
        if value in args:
            return value
        close = difflib.get_close_matches(str(value), [str(a) for a in args], n=1)
        hint_text = f"; did you mean {close[0]!r}?" if close else ""
        raise PosetrackError(f"{where}: {key} must be one of {', '.join(map(str, args))}, got {value!r}{hint_text}")
    if hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif hint is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)  # YAML reads `weights: 2024` or `--set x=0` as a number; the field wants text
    elif origin in (list, tuple) or hint in (list, tuple):
        if isinstance(value, (list, tuple)):
            if origin is tuple and args and args[-1] is not Ellipsis:
                if len(value) != len(args):
                    raise PosetrackError(f"{where}: {key} needs {len(args)} values, got {len(value)}")
                return tuple(_convert(v, a, where, f"{key}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
            item = args[0] if args else Any
            items = [_convert(v, item, where, f"{key}[{i}]") for i, v in enumerate(value)]
            return tuple(items) if (origin or hint) is tuple else items
    elif origin is dict or hint is dict:
        if isinstance(value, dict):
            value_hint = args[1] if len(args) == 2 else Any
            return {k: _convert(v, value_hint, where, f"{key}.{k}") for k, v in value.items()}
    else:
        return value  # a type this loader does not know: taken as it is, the dataclass checks it
    raise PosetrackError(f"{where}: {key} must be {_type_name(hint)}, got {_describe(value)}")


def _type_name(hint: Any) -> str:
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string", list: "a list",
             tuple: "a list", dict: "a mapping"}
    if hint in names:
        return names[hint]
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join("null" if a is type(None) else _type_name(a) for a in typing.get_args(hint))
    return names.get(origin, str(hint))


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, (dict, list)):
        return "a mapping" if isinstance(value, dict) else "a list"
    return f"{type(value).__name__} {value!r}"


def _did_you_mean(key: str, names: list[str], prefix: str) -> str:
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
    if close:
        return f"; did you mean {prefix}{close[0]}?"
    return f"; valid keys{' under ' + prefix.rstrip('.') if prefix else ''}: {', '.join(names)}"
