"""Behaviour kept: ``posetrack run`` (demo models and ``--poses``, formats 2018, 2017 and coco), ``posetrack track``,
``posetrack eval --json`` and ``posetrack demo`` write the files recorded in ``tests/data/golden`` before the
redesign of issue 13 (``tests/golden.py`` says how they are made); the files of the demo networks were recorded
again when issue 19's stages replaced the packaged models (the others stayed byte for byte).

Files that no network touched (given poses, their tracking and evaluation) must be equal byte for byte. Files that
come from the demo networks are compared number by number: the same torch release gives last-digit differences on
CPUs with other vector units (an AVX-512 machine against an AMD EPYC one: 275.2261 against 275.2259), so there every
string, integer, key and list length must be equal and every float equal to 1e-3 relative (or 2e-3 absolute: the
files round to 3 or 4 decimals). On a CPU without AVX-512 the heatmap peak of a joint or two moves to the
neighbouring cell (a 2 px move in a 1,800-joint file): up to 0.5% of the joint coordinates may differ by up to
8 px; scores, boxes and metrics may not."""
from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import pytest

import golden

GOLDEN = Path(__file__).parent / "data" / "golden"
NETWORK = ("run_detect_", "eval_detect_", "demo_")
JOINT_KEYS = ("/keypoints[", "/x[", "/y[")  # a joint's coordinate in PoseTrack 2018 / COCO, and 2017 files
PEAK_MOVES, PEAK_PX = 0.005, 8.0


def differences(new, old, where: str = "") -> list[str]:
    """Where ``new`` and ``old`` (parsed JSON) differ beyond the network's last-digit noise."""
    if isinstance(new, dict) and isinstance(old, dict):
        if sorted(new) != sorted(old):
            return [f"{where}: keys {sorted(set(new) ^ set(old))}"]
        return [d for k in new for d in differences(new[k], old[k], f"{where}/{k}")]
    if isinstance(new, list) and isinstance(old, list):
        if len(new) != len(old):
            return [f"{where}: {len(new)} items, recorded {len(old)}"]
        return [d for i, (a, b) in enumerate(zip(new, old)) for d in differences(a, b, f"{where}[{i}]")]
    if isinstance(new, float) and isinstance(old, (int, float)) and not isinstance(old, bool):
        return [] if math.isclose(new, old, rel_tol=1e-3, abs_tol=2e-3) else [f"{where}: {new} != {old}"]
    if isinstance(old, float) and isinstance(new, int) and not isinstance(new, bool):
        return differences(float(new), old, where)
    return [] if new == old else [f"{where}: {new!r} != {old!r}"]


def count_floats(value) -> int:
    if isinstance(value, dict):
        return sum(count_floats(v) for v in value.values())
    if isinstance(value, list):
        return sum(count_floats(v) for v in value)
    return int(isinstance(value, float))


def beyond_peak_moves(found: list[str], new) -> list[str]:
    """``found`` less the few joint coordinates that moved to a neighbouring heatmap cell (see the docstring)."""
    moved = []
    for line in found:
        where, _, pair = line.rpartition(": ")
        a, _, b = pair.partition(" != ")
        try:
            close = abs(float(a) - float(b)) <= PEAK_PX
        except ValueError:
            close = False
        if close and any(key in where for key in JOINT_KEYS):
            moved.append(line)
    if len(moved) > PEAK_MOVES * count_floats(new):
        return found
    return [line for line in found if line not in moved]


def test_differences_sees_what_matters():
    assert differences({"a": [1.0001, "x", 3]}, {"a": [1.0, "x", 3]}) == []
    assert differences({"a": [1.1]}, {"a": [1.0]}) == ["/a[0]: 1.1 != 1.0"]
    assert differences({"a": [1, 2]}, {"a": [1]}) == ["/a: 2 items, recorded 1"]
    assert differences({"a": 5}, {"a": 6}) == ["/a: 5 != 6"]
    assert differences({"a": 1}, {"b": 1}) == [": keys ['a', 'b']"]
    many = {"keypoints": [float(i) for i in range(400)], "score": 0.5}
    one_moved = {**many, "keypoints": [2.0 + i if i == 7 else float(i) for i in range(400)]}
    assert beyond_peak_moves(differences(one_moved, many), one_moved) == []
    assert beyond_peak_moves(differences({**one_moved, "score": 0.6}, many), one_moved) == ["/score: 0.6 != 0.5"]
    far = {**many, "keypoints": [20.0 + i if i == 7 else float(i) for i in range(400)]}
    assert beyond_peak_moves(differences(far, many), far) == ["/keypoints[7]: 27.0 != 7.0"]
    three_moved = {**many, "keypoints": [2.0 + i if i < 3 else float(i) for i in range(400)]}
    assert len(beyond_peak_moves(differences(three_moved, many), three_moved)) == 3


@pytest.mark.slow
def test_outputs_equal_the_recorded_ones(tmp_path):
    written = golden.outputs(tmp_path)
    recorded = sorted(p.name[:-3] for p in GOLDEN.glob("*.gz"))
    assert sorted(written) == recorded
    different = {}
    for name, path in written.items():
        old = gzip.decompress((GOLDEN / f"{name}.gz").read_bytes())
        if name.startswith(NETWORK):
            new = json.loads(path.read_bytes())
            found = beyond_peak_moves(differences(new, json.loads(old)), new)
            if found:
                different[name] = found[:5]
        elif path.read_bytes() != old:
            different[name] = ["bytes differ"]
    assert different == {}
