"""matplotlib figures for the report, each returned as a base64 PNG (no files, no network)."""
from __future__ import annotations

import base64
import io
import math

STATUS_COLORS = {"passed": "#2ca02c", "partial": "#bcbd22", "failed": "#d62728", "not_implemented": "#7f7f7f",
                 "error": "#9467bd", "timeout": "#ff7f0e", "memory": "#8c564b", "tampered": "#e377c2",
                 "missing": "#c7c7c7", "banned": "#17becf", "review": "#1f77b4"}


def _png(fig) -> str:
    import matplotlib.pyplot as plt
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def histograms(series: dict[str, tuple[list[float], float]], title: str) -> str:
    """One small histogram per key: (values, maximum)."""
    plt = _plt()
    n = max(1, len(series))
    cols = min(4, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    for ax, (name, (values, top)) in zip(axes.flat, series.items()):
        ax.hist(values, bins=min(20, max(5, int(top) or 5)), range=(0, top or 1), color="#4c72b0")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("points", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    return _png(fig)


def statuses(counts: dict[str, dict[str, int]]) -> str:
    """Stacked horizontal bars: per task, how many students had each status."""
    plt = _plt()
    tasks = list(counts)
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(tasks) + 1.2))
    left = [0] * len(tasks)
    for status in STATUS_COLORS:
        widths = [counts[t].get(status, 0) for t in tasks]
        if any(widths):
            ax.barh(tasks, widths, left=left, color=STATUS_COLORS[status], label=status)
            left = [a + b for a, b in zip(left, widths)]
    ax.invert_yaxis()
    ax.set_xlabel("students")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title("Status per task")
    return _png(fig)


def boxes(series: dict[str, list[float]], ylabel: str, title: str) -> str:
    plt = _plt()
    names = [k for k, v in series.items() if v]
    fig, ax = plt.subplots(figsize=(max(4, 0.8 * len(names) + 2), 3))
    if names:
        ax.boxplot([series[k] for k in names], tick_labels=names)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return _png(fig)


def accuracy(series: dict[str, tuple[list[float], list[float]]]) -> str:
    """Per checkpoint: a histogram of measured test accuracy with its thresholds."""
    plt = _plt()
    n = max(1, len(series))
    fig, axes = plt.subplots(1, n, figsize=(3.4 * n, 2.6), squeeze=False)
    for ax, (name, (values, thresholds)) in zip(axes.flat, series.items()):
        lo = min(values + thresholds) - 2 if values else 0
        ax.hist(values, bins=15, range=(max(0, lo), 100), color="#55a868")
        for t in thresholds:
            ax.axvline(t, color="#c44e52", linestyle="--", linewidth=1)
        if not values:
            ax.text(0.5, 0.5, "none measured", ha="center", va="center", transform=ax.transAxes, fontsize=9)
            ax.set_yticks([])
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("test accuracy (%)", fontsize=8)
        ax.tick_params(labelsize=7)
    return _png(fig)
