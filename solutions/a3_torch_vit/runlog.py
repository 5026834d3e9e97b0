"""What a run leaves behind besides its checkpoint: metrics.csv, metrics.json and curves.png."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from atomic_io import atomic_path, atomic_write, atomic_write_json

COLUMNS = ("epoch", "step", "lr", "train_loss", "train_acc", "test_loss", "test_acc", "wall_s",
           "train_images_per_s")


def write_metrics(out_dir: str | Path, history: list[dict], summary: dict) -> None:
    """One CSV row per epoch, and a JSON file with the summary and the whole history (both atomic)."""
    out_dir = Path(out_dir)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in history:
        writer.writerow({k: ("" if row.get(k) is None else row[k]) for k in COLUMNS})
    atomic_write(out_dir / "metrics.csv", buf.getvalue())
    atomic_write_json(out_dir / "metrics.json", {**summary, "history": history})


def plot_curves(history: list[dict], path: str | Path, title: str = "") -> Path | None:
    """Loss and accuracy per epoch (train and test) as a two-panel PNG; None if nothing to plot."""
    if not history:
        return None
    # a Figure of its own: saving a file switches no backend and leaves a notebook's inline plots on
    from matplotlib.figure import Figure

    epochs = [r["epoch"] for r in history]
    fig = Figure(figsize=(9, 3.5))
    ax_loss, ax_acc = fig.subplots(1, 2)
    for ax, key, label in ((ax_loss, "loss", "loss"), (ax_acc, "acc", "accuracy")):
        ax.plot(epochs, [r[f"train_{key}"] for r in history], "o-", label="train")
        tested = [(r["epoch"], r[f"test_{key}"]) for r in history if r.get(f"test_{key}") is not None]
        if tested:
            ax.plot(*zip(*tested), "s-", label="test")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    return path
