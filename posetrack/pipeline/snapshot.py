"""Snapshot files: nested plain data (dicts, lists, tuples, deques, numpy arrays and scalars, Python numbers and
strings) in one ``.npz``, written atomically, read without pickle.

Arrays keep their dtype and shape, numbers their type (a Python float goes through JSON's shortest round-trip
repr, so it comes back bit for bit); the structure is one JSON string stored beside the arrays. Reading never runs
code from the file (``allow_pickle=False``), unlike a pickle in a folder others may write to.
"""
from __future__ import annotations

import io
import json
import os
from collections import deque

import numpy as np

from ..atomic import write_bytes


def _encode(value, arrays: dict):
    if isinstance(value, (np.ndarray, np.generic)):
        key = f"a{len(arrays)}"
        arrays[key] = np.asarray(value)
        return {"$a": key, "scalar": isinstance(value, np.generic)}
    if isinstance(value, dict):
        return {"$d": [[_encode(k, arrays), _encode(v, arrays)] for k, v in value.items()]}
    if isinstance(value, deque):
        return {"$q": [_encode(v, arrays) for v in value], "maxlen": value.maxlen}
    if isinstance(value, tuple):
        return {"$t": [_encode(v, arrays) for v in value]}
    if isinstance(value, list):
        return [_encode(v, arrays) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot store {type(value).__name__} in a snapshot")


def _decode(value, arrays):
    if isinstance(value, list):
        return [_decode(v, arrays) for v in value]
    if not isinstance(value, dict):
        return value
    if "$a" in value:
        array = arrays[value["$a"]]
        return array[()] if value["scalar"] else array
    if "$d" in value:
        return {_decode(k, arrays): _decode(v, arrays) for k, v in value["$d"]}
    if "$q" in value:
        return deque((_decode(v, arrays) for v in value["$q"]), maxlen=value["maxlen"])
    if "$t" in value:
        return tuple(_decode(v, arrays) for v in value["$t"])
    raise ValueError(f"unknown snapshot entry {sorted(value)}")


def save_snapshot(path: str | os.PathLike, data) -> None:
    """Write ``data`` to ``path`` atomically (a reader sees the previous snapshot or this one, whole)."""
    arrays: dict[str, np.ndarray] = {}
    structure = json.dumps(_encode(data, arrays))
    buffer = io.BytesIO()
    np.savez(buffer, __structure__=np.array(structure), **arrays)
    write_bytes(path, buffer.getvalue())


def load_snapshot(path: str | os.PathLike):
    """What ``save_snapshot`` wrote (``ValueError`` / ``OSError`` when the file is not one)."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    return _decode(json.loads(str(arrays.pop("__structure__"))), arrays)
