"""Spreading a new points total over an assignment's tasks."""
from __future__ import annotations

import math


def scale(points: dict[str, float], total: float) -> dict[str, float]:
    """{'1.1': 10, '1.2': 30}, 100 -> {'1.1': 25, '1.2': 75}: in proportion to the current
    points, whole points with the largest remainders rounded up, so the total is exact
    (to 0.01 for a fractional total). Tasks with 0 points stay at 0."""
    current = sum(points.values())
    if current <= 0:
        share = {k: total / len(points) for k in points} if points else {}
    else:
        share = {k: total * v / current for k, v in points.items()}
    if not float(total).is_integer():
        return {k: round(v, 2) for k, v in share.items()}
    out = {k: math.floor(v) for k, v in share.items()}
    left = int(total) - sum(out.values())
    for k in sorted(share, key=lambda k: (out[k] - share[k], k))[:left]:
        out[k] += 1
    return {k: float(v) for k, v in out.items()}
