"""Where the cache lives and where a mirror is, plus an atomic directory swap."""
from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path


def kit_root(start: Path | None = None) -> Path | None:
    """The nearest folder at or above `start` holding `course.toml` next to `datasets/`."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "course.toml").is_file() and (folder / "datasets").is_dir():
            return folder
    return None


def data_root(data_dir=None) -> Path:
    """Cache root: `data_dir`, else $VITLAB_DATA, else <kit>/datasets/data, else ~/.cache."""
    if data_dir is not None:
        return Path(data_dir).expanduser()
    if os.environ.get("VITLAB_DATA"):
        return Path(os.environ["VITLAB_DATA"]).expanduser()
    root = kit_root()
    if root is not None:
        return root / "datasets" / "data"
    return Path.home() / ".cache" / "vitlab" / "datasets"


def mirror_from_env() -> Path | None:
    value = os.environ.get("VITLAB_MIRROR", "").strip()
    return Path(value).expanduser() if value else None


@contextmanager
def atomic_dir(final: Path):
    """Yield an empty temporary folder beside `final`; on success it replaces `final`.

    On any error the temporary folder is removed and an existing `final` is left as it was,
    so a failed import never leaves a half-written cache behind.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    os.chmod(tmp, 0o755)  # mkdtemp makes it private; a shared cache must be readable by all
    try:
        yield tmp
        old = None
        if final.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".old", dir=final.parent))
            os.replace(final, old / final.name)
        try:
            os.replace(tmp, final)
        except OSError:
            if not final.exists():
                raise
            shutil.rmtree(tmp, ignore_errors=True)  # another process finished the same import first
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
