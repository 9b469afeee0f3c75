"""The tables ``posetrack eval`` prints: poseval's layout and cell format (``%1.1f`` right-aligned in 5), and a
third table, in the same layout, for the identity measures poseval does not print."""
from __future__ import annotations

import math

from .names import GROUPS

_AP_HEADER = "& Head & Shou & Elb  & Wri  & Hip  & Knee & Ankl & Total\\\\"
_MOT_HEADER = ("& MOTA & MOTA & MOTA & MOTA & MOTA & MOTA & MOTA & MOTA & MOTP & Prec & Rec  \\\\\n"
               "& Head & Shou & Elb  & Wri  & Hip  & Knee & Ankl & Total& Total& Total& Total\\\\")
_ID_HEADER = ("& IDF1 & IDF1 & IDF1 & IDF1 & IDF1 & IDF1 & IDF1 & IDF1 & IDP  & IDR  & IDSW \\\\\n"
              "& Head & Shou & Elb  & Wri  & Hip  & Knee & Ankl & Total& Total& Total& Total\\\\")


def _row(values) -> str:
    cells = ["{:>5}".format("%1.1f" % v) for v in values]
    return "&" + " &".join(cells) + " \\\\"


def format_tables(result: dict, title: str | None = None) -> str:
    """poseval's two tables for a result of ``evaluate`` (``motp`` is the CLEAR-MOT MOTP, see ``mot``), then the
    identity table (IDSW: id switches per joint, averaged over the joints like the other columns)."""
    ap = [result["ap"][g] for g in GROUPS] + [result["ap"]["total"]]
    mot = [result["mota"][g] for g in GROUPS] + [result["mota"]["total"], result["motp"]["total"],
                                                   result["precision"]["total"], result["recall"]["total"]]
    ids = [result["idf1"][g] for g in GROUPS] + [result["idf1"]["total"], result["idp"]["total"],
                                                 result["idr"]["total"], result["num_switches"]["total"]]
    lines = [title] if title else []
    lines += ["Average Precision (AP) metric:", _AP_HEADER, _row(ap),
              "Multiple Object Tracking (MOT) metrics:", _MOT_HEADER, _row(mot),
              "Identity (ID) metrics:", _ID_HEADER, _row(ids)]
    return "\n".join(lines)


def json_ready(value):
    """NaN -> None so that the JSON file is standard JSON."""
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
