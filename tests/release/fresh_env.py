"""A fresh virtual environment that has only some packages "preinstalled", as a notebook server
(Colab, Kaggle) has numpy, torch and torchvision.

Copying torch into a new venv would move gigabytes, so the preinstalled packages are linked:
a folder of symbolic links to exactly those distributions (and what they depend on) in the
kit's venv, put on the new venv's path by a .pth file. Anything else must be installed into
the new venv itself; nothing of the kit's own packages is visible.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement


def closure(names: list[str]) -> list[metadata.Distribution]:
    """The distributions `names` need, transitively (markers evaluated, extras left out)."""
    seen: dict[str, metadata.Distribution] = {}
    todo = list(names)
    while todo:
        key = re.sub(r"[-_.]+", "-", todo.pop()).lower()
        if key in seen:
            continue
        try:
            dist = metadata.distribution(key)
        except metadata.PackageNotFoundError:
            continue          # an optional dependency this platform does not have
        seen[key] = dist
        for raw in dist.requires or []:
            req = Requirement(raw)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return list(seen.values())


def link_preinstalled(names: list[str], dest: Path) -> list[str]:
    """Symbolic links in `dest` to every top-level file and folder of the closure of `names`."""
    dest.mkdir(parents=True)
    linked = []
    for dist in closure(names):
        site = Path(dist.locate_file("")).resolve()
        for top in {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}:
            if not (dest / top).exists() and (site / top).exists():
                (dest / top).symlink_to(site / top)
        linked.append(dist.metadata["Name"])
    return sorted(linked)


def fresh_venv(root: Path, preinstalled: list[str]) -> Path:
    """A new venv under `root` (its own pip, no system site-packages) that sees `preinstalled`
    as installed. Returns its python."""
    subprocess.run([_base_python(), "-m", "venv", str(root / "venv")], check=True)
    py = root / "venv" / "bin" / "python"
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    link_preinstalled(preinstalled, root / "preinstalled")
    (site / "zz_preinstalled.pth").write_text(f"{root / 'preinstalled'}\n")
    return py


def _base_python() -> str:
    """The interpreter the kit's venv was made from: the new venv is its sibling, not its child."""
    return str(Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}")


def kernel_spec(jupyter_dir: Path, name: str, python: Path, env: dict[str, str]) -> None:
    """A Jupyter kernel named `name` that runs `python` (found through JUPYTER_PATH=jupyter_dir)."""
    spec = jupyter_dir / "kernels" / name
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": name, "language": "python", "env": env}))


def clean_env() -> dict[str, str]:
    """The test's environment without anything that points into the kit."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "VITLAB_MIRROR")}
