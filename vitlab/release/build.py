"""`make release`: regenerate assignments/ from solutions/.

The whole release is built in a temporary folder first; only when every assignment built
cleanly is each `assignments/<folder>` swapped in. A malformed fence or notebook therefore
leaves `assignments/` exactly as it was.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from vitlab.course import Assignment, Course, course_map
from vitlab.io import atomic_write
from vitlab.release import fences, generated, guides, notebooks, sources

HANDIN = Path(__file__).resolve().with_name("handin.py")     # `make submit` of every folder


def build_assignment(course: Course, a: Assignment, out: Path) -> tuple[list[str], dict[Path, Path]]:
    """Write the student release of `a` into `out` (an empty folder), notebooks aside.

    Returns a log and the notebooks still to be released by nbgrader.
    """
    files = sources.walk(a)
    sources.check(a, files)
    log: list[str] = []
    nbs = {}
    for f in files:
        dest = out / f.rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if f.kind == "notebook" and not f.given:
            nbs[f.rel] = f.path
        elif f.kind == "python":
            text = f.path.read_text(encoding="utf-8")
            shown = str(a.source_dir / f.rel)
            dest.write_text(fences.render(text, shown, stub_tasks=set() if f.given else None), encoding="utf-8")
        else:
            shutil.copyfile(f.path, dest)
    (out / "pytest.ini").write_text(generated.pytest_ini(a), encoding="utf-8")
    (out / "Makefile").write_text(generated.makefile(a), encoding="utf-8")
    (out / "requirements.txt").write_text(generated.requirements(a, course.root / "requirements.lock"), encoding="utf-8")
    shutil.copyfile(HANDIN, out / "handin.py")
    guide = a.source_dir / "README.md"     # an assignment's own guide follows the generated task table
    extra = guides.render(course, a, guide.read_text(encoding="utf-8"), str(guide)) if guide.is_file() else ""
    (out / "README.md").write_text(generated.readme(a) + (f"\n{extra}" if extra else ""), encoding="utf-8")
    n_stub = sum(1 for f in files if f.kind == "python" and not f.given)
    n_given = sum(1 for f in files if f.given)
    log.append(f"{a.folder}: {len(a.tasks)} tasks, {n_stub} stubbed modules/tests, {len(nbs)} notebooks, {n_given} given files")
    for other, names in earlier_references(course, a, files).items():
        log.append(f"note: {a.folder} ships {other}'s reference solutions as given code ({', '.join(names)}): "
                   f"release it only after {other}'s deadline")
    return log, nbs


def earlier_references(course: Course, a: Assignment, files: list[sources.SourceFile]) -> dict[str, list[str]]:
    """Other assignments whose solved fences `a` publishes as given code: folder -> file names.

    Releasing `a` then publishes those solutions, so it must wait for that assignment's deadline.
    """
    solutions = (course.root / "solutions").resolve()
    found: dict[str, list[str]] = {}
    for f in files:
        if not (f.given and f.kind == "python" and solutions in f.path.parents):
            continue
        other = f.path.relative_to(solutions).parts[0]
        text = f.path.read_text(encoding="utf-8")
        if other != a.folder and any(fe.kind == "SOLUTION" for fe in fences.parse(text, str(f.path))):
            found.setdefault(other, []).append(str(f.rel))
    return found


def write_solution_configs(course: Course) -> None:
    """solutions/<a>/pytest.ini is generated too, so the reference runs its own tests."""
    for a in course.assignments:
        target = a.source_dir / "pytest.ini"
        text = generated.pytest_ini(a)
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            atomic_write(target, text)


MAP_BEGIN, MAP_END = "<!-- course-map:begin -->", "<!-- course-map:end -->"


def readme_with_course_map(course: Course) -> str | None:
    """README.md with the course map section regenerated (None: no README or no markers)."""
    readme = course.root / "README.md"
    if not readme.exists():
        return None
    text = readme.read_text(encoding="utf-8")
    if MAP_BEGIN not in text or MAP_END not in text:
        return None
    head, rest = text.split(MAP_BEGIN, 1)
    _, tail = rest.split(MAP_END, 1)
    return f"{head}{MAP_BEGIN}\n{course_map(course)}\n{MAP_END}{tail}"


def build(course: Course, dest: Path) -> list[str]:
    """Build every assignment under `dest` (created fresh)."""
    log: list[str] = []
    jobs = {}
    for a in course.assignments:
        out = dest / a.folder
        out.mkdir(parents=True)
        lines, jobs[a.folder] = build_assignment(course, a, out)
        log += lines
    notebooks.generate(jobs, dest)
    return log


def release(course: Course, target: Path | None = None) -> list[str]:
    """Rebuild `target` (default: <root>/assignments) from the solutions, atomically per folder."""
    target = target or course.root / "assignments"
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".release-", dir=target) as tmp:
        staged = Path(tmp)
        log = build(course, staged)      # raises before anything in target changes
        write_solution_configs(course)
        for guide, text in guides.refreshed(course).items():
            atomic_write(guide, text)
        if (readme := readme_with_course_map(course)) is not None:
            atomic_write(course.root / "README.md", readme)
        for a in course.assignments:
            _swap(staged / a.folder, target / a.folder, staged / f"{a.folder}.old")
    stale = sorted(p.name for p in target.iterdir() if p.is_dir() and p.name not in {a.folder for a in course.assignments})
    if stale:
        log.append(f"note: assignments/ also holds {', '.join(stale)}, which course.toml does not list")
    return log


def _swap(new: Path, current: Path, old: Path) -> None:
    if current.exists():
        current.rename(old)
    new.rename(current)
    if old.exists():
        shutil.rmtree(old)
