"""`make calibrate`: measure the capstone's reference recipes on this machine and write the
thresholds that fit it into course.toml.

    make calibrate                          # the course's kind: the GPU recipes on CUDA, else the CPU ones
    make calibrate KIND=cpu MARGIN=2.0      # other recipes, another margin
    python bench/calibrate.py --course other/course.toml --only vit_mnist --set epochs=1

For every checkpoint in course.toml [capstone.checkpoints] it trains the recipe <name>_<kind>
(solutions/a4_capstone/configs) alone, within the recipe's own time_budget_s, exactly as
`make train` does, and reads the final test accuracy from the run's metrics.json (the
checkpoint a student would export). It then rewrites two lines of that checkpoint's table:

    thresholds = [a, b, top]    top = measured - margin, rounded down to a whole point; the
                                lower thresholds keep their distance below the top (>= 0)
    reference = "..."           the measured accuracy, the recipe, the hardware and the date

Only those lines change: comments, order and every other key stay as they were; the new
file is checked to parse with the same settings elsewhere and replaces the old one
atomically.
"""
from __future__ import annotations

import argparse
import datetime as dt
import math
import re
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "datasets")]
DEFAULT_MARGIN = 1.5


class CalibrateError(ValueError):
    """A course file, a recipe or a setting is wrong; the message names which."""


def parse(argv):
    p = argparse.ArgumentParser(prog="bench/calibrate.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--kind", choices=("gpu", "cpu"), help="recipes to run (default: gpu on CUDA, else cpu)")
    p.add_argument("--margin", type=float, default=DEFAULT_MARGIN, help="points below the measured accuracy")
    p.add_argument("--course", type=Path, default=ROOT / "course.toml", help="the course.toml to update")
    p.add_argument("--only", help="comma-separated checkpoint names (default: every one in the course)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a key of every recipe")
    p.add_argument("--out", type=Path, help="folder for the runs (default: a temporary folder)")
    return p.parse_args(argv)


def checkpoints(course: Path, only: str | None) -> dict:
    try:
        data = tomllib.loads(course.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CalibrateError(f"{course}: no such file") from None
    except tomllib.TOMLDecodeError as e:
        raise CalibrateError(f"{course}: not valid TOML: {e}") from None
    found = data.get("capstone", {}).get("checkpoints", {})
    if not found:
        raise CalibrateError(f"{course}: no [capstone.checkpoints.*] tables to calibrate")
    names = [n.strip() for n in only.split(",") if n.strip()] if only else list(found)
    unknown = [n for n in names if n not in found]
    if unknown:
        raise CalibrateError(f"{course}: no [capstone.checkpoints.{unknown[0]}] (it has: {', '.join(found)})")
    return {n: found[n] for n in names}


def suggest(measured_pct: float, old: list[float], margin: float) -> list[float]:
    """The ladder `old` moved so its top is measured - margin rounded down; steps kept, floor 0."""
    if not old:
        old = [0.0]
    top = math.floor(measured_pct - margin)
    return [float(max(0, top - (old[-1] - t))) for t in old]


def measure(name: str, kind: str, sets: list[str], out: Path) -> dict:
    from bench.capstone import hardware_label, run_recipe
    recipe = f"{name}_{kind}"
    m = run_recipe(recipe, out, sets)
    if m.get("test_acc") is None:
        raise CalibrateError(f"{recipe}: the run recorded no test accuracy")
    return {"recipe": recipe, "test_acc": 100 * m["test_acc"], "train_s": m["train_s"],
            "epochs": m["epochs_run"], "hardware": hardware_label(m["device"]),
            "synthetic": m["config"].get("synthetic", False)}


def _toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def rewrite(text: str, name: str, thresholds: list[float], reference: str) -> str:
    """`text` with the thresholds and reference lines of [capstone.checkpoints.<name>] replaced
    (reference added after thresholds if missing); every other line as it was."""
    lines = text.splitlines(keepends=True)
    header = f"[capstone.checkpoints.{name}]"
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == header)
    except StopIteration:
        raise CalibrateError(f"no line {header} (calibrate edits the table written in that form)") from None
    end = next((i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines))
    shown = ", ".join(f"{t:g}" if t != int(t) else f"{t:.1f}" for t in thresholds)
    new_t = f"thresholds = [{shown}]  # make calibrate: measured - margin, rounded down\n"
    new_r = f"reference = {_toml_str(reference)}\n"
    t_at = r_at = None
    for i in range(start + 1, end):
        if re.match(r"\s*thresholds\s*=", lines[i]):
            t_at = i
        elif re.match(r"\s*reference\s*=", lines[i]):
            r_at = i
    if t_at is None:
        raise CalibrateError(f"{header} has no thresholds line")
    if "]" not in lines[t_at]:
        raise CalibrateError(f"{header}: thresholds spans several lines; write it on one line")
    lines[t_at] = new_t
    if r_at is not None:
        lines[r_at] = new_r
    else:
        lines.insert(t_at + 1, new_r)
    return "".join(lines)


def check_same_elsewhere(before: str, after: str, edited: dict) -> None:
    """The rewritten file parses, and only the edited keys differ."""
    a, b = tomllib.loads(before), tomllib.loads(after)
    for name, (thresholds, reference) in edited.items():
        got = b["capstone"]["checkpoints"][name]
        if got["thresholds"] != thresholds or got["reference"] != reference:
            raise CalibrateError(f"rewriting [capstone.checkpoints.{name}] did not take")
        for d in (a, b):
            d["capstone"]["checkpoints"][name].pop("thresholds", None)
            d["capstone"]["checkpoints"][name].pop("reference", None)
    if a != b:
        raise CalibrateError("rewriting course.toml would change other settings; nothing written")


def write_atomic(path: Path, text: str) -> None:
    from vitlab.io import atomic_write
    atomic_write(path, text)


def main(argv=None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    try:
        if not 0 <= args.margin < 50:
            raise CalibrateError(f"--margin {args.margin}: must be in [0, 50)")
        course = args.course.resolve()
        wanted = checkpoints(course, args.only)
        import torch
        kind = args.kind or ("gpu" if torch.cuda.is_available() else "cpu")
        out = args.out or Path(tempfile.mkdtemp(prefix="calibrate-"))
        date = dt.date.today().isoformat()
        rows, text, edited = [], course.read_text(encoding="utf-8"), {}
        before = text
        for name, spec in wanted.items():
            m = measure(name, kind, args.set, out)
            new = suggest(m["test_acc"], [float(t) for t in spec.get("thresholds", [])], args.margin)
            data = " (synthetic data: a test of calibrate, not a reference)" if m["synthetic"] else ""
            ref = (f"measured {m['test_acc']:.2f} % by make calibrate: recipe {m['recipe']}, {m['epochs']} epochs, "
                   f"{m['train_s']:.0f} s of training on {m['hardware']}, {date}; thresholds = measured - "
                   f"{args.margin:g} points, rounded down{data}")
            text = rewrite(text, name, new, ref)
            edited[name] = (new, ref)
            rows.append((name, m, spec.get("thresholds"), new))
        check_same_elsewhere(before, text, edited)
        write_atomic(course, text)
    except CalibrateError as e:
        print(f"calibrate: {e}", file=sys.stderr)
        return 2
    print(f"\n{'checkpoint':16s} {'recipe':20s} {'measured %':>10s}  thresholds (old -> new)   hardware")
    for name, m, old, new in rows:
        print(f"{name:16s} {m['recipe']:20s} {m['test_acc']:>10.2f}  {old} -> {new}   {m['hardware']}")
    print(f"calibrate: wrote {course} (margin {args.margin:g} points)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
