"""The typed YAML loader: ``load_config(cls, path, overrides)`` fills any (nested) dataclass from a YAML file and
``--set a.b=c`` overrides, so the pipeline's, the tracker's and the trainers' configs all load through it.

Values are checked against the field types (``bool``, ``int``, ``float``, ``str``, ``Literal``, ``X | None``,
``list``/``tuple``, ``dict``, nested dataclasses), then by each dataclass's own ``__post_init__``; a mistake
raises ``PosetrackError`` naming the key, the file (or the ``--set``) and, for a misspelt key or choice, the
closest valid one. ``config_to_dict``/``dump_config`` give the plain form that is recorded next to outputs and inside
checkpoints, and that loads back to an equal config.
"""
from __future__ import annotations

import dataclasses
import difflib
import os
import sys
import types
import typing
from pathlib import Path
from typing import Any, Literal

import yaml

from ..atomic import write_text
from ..errors import PosetrackError

# The repository's configs/ (editable installs), then where a regular install puts them (setup.cfg data_files).
CONFIG_DIRS = (Path(__file__).resolve().parents[2] / "configs", Path(sys.prefix) / "share" / "posetrack" / "configs")


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
