"""The names of the numbers posetrack reports, in one place.

* ``GROUPS``: poseval's table columns (``head`` ... ``ankle``, the joints of each in ``layouts.EVAL_GROUPS``);
  every per-group result is ``{group: value, ..., "total": value}``.
* ``evaluate()``'s keys: ``ap``, ``mota``, ``idf1``, ``idp``, ``idr``, ``num_switches`` (per group), ``motp``,
  ``precision``, ``recall`` (``total`` only), and ``per_joint`` (poseval's joint order).
* ``summary(result)``: the flat names training logs, checkpoints and ``posetrack test`` use: ``mAP``,
  ``AP_<group>`` and ``MOTA``.
"""
from __future__ import annotations

from ..layouts import EVAL_GROUPS

GROUPS = tuple(EVAL_GROUPS)  # head, shoulder, elbow, wrist, hip, knee, ankle


def summary(result: dict) -> dict:
    """``{"mAP", "AP_head", ..., "AP_ankle", "MOTA"}`` of an ``evaluate()`` result."""
    return {"mAP": result["ap"]["total"], **{f"AP_{g}": result["ap"][g] for g in GROUPS},
            "MOTA": result["mota"]["total"]}
