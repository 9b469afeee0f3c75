"""Behaviour kept byte for byte: ``posetrack run`` (demo models and ``--poses``, formats 2018, 2017 and coco),
``posetrack track``, ``posetrack eval --json`` and ``posetrack demo`` write exactly the files recorded in
``tests/data/golden`` before the redesign of issue 13 (``tests/golden.py`` says how they are made)."""
from __future__ import annotations

import gzip
from pathlib import Path

import pytest

import golden

GOLDEN = Path(__file__).parent / "data" / "golden"


@pytest.mark.slow
def test_outputs_equal_the_recorded_bytes(tmp_path):
    written = golden.outputs(tmp_path)
    recorded = sorted(p.name[:-3] for p in GOLDEN.glob("*.gz"))
    assert sorted(written) == recorded
    different = [name for name, path in written.items()
                 if path.read_bytes() != gzip.decompress((GOLDEN / f"{name}.gz").read_bytes())]
    assert different == []
