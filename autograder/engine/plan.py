"""Per-run preparation shared by every student of one assignment.

- the owners map: which task owns each top-level function/class/method (from the fences);
- the given modules (earlier assignments' code shipped in the release) as released, so a
  student's edited copy of given code cannot cost points; no solution of this
  assignment's own tasks is ever sent to a sandbox (tasks are isolated with the harness's
  test doubles instead: autograder/harness/doubles/);
- the grader library the sandbox may see (engine wire/worker + harness);
- the mode: `numpy_only` as assignment.toml declares it (never guessed from the sources'
  text: a2's given vitdata mentions torchvision), and then the digests of every released
  given file, the only files the autograd scan leaves alone (scan.py);
- the grader hash (graders, engine, harness, reference), which decides re-grading.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from vitlab.course import Assignment, Course, load_course
from vitlab.release import fences, sources

from autograder.engine import scan
from autograder.engine.notebooks.cells import NotebookPlan, notebook_tasks
from autograder.engine.notebooks.prepare import prepare as prepare_notebooks
from autograder.engine.sandbox import Limits, gpu_devices, probe_bwrap, stage_grader_lib
from autograder.engine.session import Job, TaskInfo

ENGINE_DIR = Path(__file__).resolve().parent
AUTOGRADER = ENGINE_DIR.parent
ROOT = AUTOGRADER.parent
ENGINE_VERSION = "1"


@dataclass
class Plan:
    course: Course
    assignment: Assignment
    graders_dir: Path
    harness_dir: Path
    work: Path                                   # scratch for this run (grader lib, notebooks)
    owners: dict[str, dict[str, str]] = field(default_factory=dict)
    given: dict[str, str] = field(default_factory=dict)   # given module -> its released source
    grader_lib: Path | None = None
    sandbox_problem: str | None = None           # None: bubblewrap works
    run_as: tuple[int, int] | None = None        # without bubblewrap (allowed by name): nobody's uid/gid
    grader_hash: str = ""
    preload: list[str] = field(default_factory=list)          # imported by each sandboxed worker
    numpy_only: bool = False                                  # declared in assignment.toml (a1, a2)
    given_files: dict[str, str] = field(default_factory=dict)  # released .py path -> scan.digest (released_given)
    trusted_preload: list[str] = field(default_factory=list)  # imported once by the forkserver
    limits: Limits = field(default_factory=Limits)
    notebooks: NotebookPlan | None = None

    @property
    def isolated(self) -> bool:
        return self.sandbox_problem is None

    def job(self, student: str, submission: Path) -> Job:
        a = self.assignment
        return Job(
            student=student, assignment=a.folder, assignment_id=a.id,
            tasks=[TaskInfo(t.id, t.title, t.points, t.timeout_s) for t in a.tasks],
            all_markers=[t.marker for _, t in self.course.all_tasks()],
            graders_dir=str(self.graders_dir), solutions_dir=str(a.source_dir),
            submission=str(submission), given=self.given, owners=self.owners,
            grader_lib=str(self.grader_lib), harness_dir=str(self.harness_dir), isolated=self.isolated,
            run_as=self.run_as,
            limits=self.limits, preload=list(self.preload), notebooks=self.notebooks,
            numpy_only=self.numpy_only, given_files=self.given_files)


def make_plan(assignment: str, work: Path, course_root: Path | None = None,
              graders_root: Path | None = None, harness_dir: Path | None = None) -> Plan:
    course = load_course(course_root or ROOT)
    a = course.assignment(assignment)
    graders_root = Path(graders_root or AUTOGRADER / "graders")
    plan = Plan(course, a, graders_root / a.folder, Path(harness_dir or AUTOGRADER / "harness"), work)
    work.mkdir(parents=True, exist_ok=True)
    if "memory_limit_gb" in a.extra:   # assignment.toml may raise the 4 GiB address-space limit
        plan.limits.address_space = int(float(a.extra["memory_limit_gb"]) * (1 << 30))
    if a.extra.get("gpu"):   # assignment.toml `gpu = true`: its sandboxes may use this machine's GPU
        plan.limits.devices = gpu_devices()
    plan.notebooks = prepare_notebooks(a, work)
    py_tasks = [t for t in a.tasks if t.id not in notebook_tasks(a)]
    if py_tasks and not plan.graders_dir.is_dir():
        raise FileNotFoundError(f"no hidden graders for {a.folder}: {plan.graders_dir} does not exist")
    modules = _fenced_modules(a)
    plan.owners = {mod: owners for mod, (_, _, owners, _) in modules.items()}
    plan.given = {mod: fences.render(text, rel, stub_tasks=set())
                  for mod, (rel, text, _, given) in modules.items() if given}
    plan.grader_lib = stage_grader_lib(work / "lib", plan.harness_dir)
    plan.sandbox_problem = probe_bwrap()
    plan.numpy_only = a.numpy_only
    plan.preload = [] if plan.numpy_only else ["torch"]   # student code may use it: each zygote imports it once
    if plan.numpy_only:   # hand-written backprop: no autograd library within reach of student code
        plan.limits.hidden_packages = scan.installed_autograd_packages()
        plan.given_files = released_given(a)
    plan.trusted_preload = (["torch", "autograder.engine.warmup"]
                            if plan.preload or _graders_use_torch(plan.graders_dir) else [])
    if plan.notebooks is not None:  # nbgrader takes seconds to import: once, in the forkserver
        plan.trusted_preload += ["nbgrader.apps", "nbconvert.exporters", "nbconvert.preprocessors", "nbformat"]
    plan.grader_hash = grader_hash(plan)
    return plan


def _fenced_modules(a: Assignment) -> dict[str, tuple[str, str, dict, bool]]:
    """module name -> (relative path, reference text, owners, given) for every fenced .py file."""
    out = {}
    for f in sources.walk(a):
        if f.kind != "python" or f.rel.parts[0] == "tests":
            continue
        if f.given and not a.extra.get("isolate_given", True):
            continue    # e.g. the capstone grades the student's own copy of a3's code
        text = f.path.read_text(encoding="utf-8")
        owners = fences.task_owners(text, str(a.source_dir / f.rel))
        if owners:
            mod = ".".join(f.rel.with_suffix("").parts)
            out[mod] = (str(f.rel), text, owners, f.given)
    return out


def released_given(a: Assignment) -> dict[str, str]:
    """relative path -> scan.digest of every .py file exactly as the release ships it (given
    code with its solutions, the student's files as stubs: vitlab/release/build.py). A file
    still as released holds nothing of the student's. Every file, not only the given ones:
    in a Gradescope zip given code arrives as plain files, no longer a link out of the folder."""
    return {f.rel.as_posix(): scan.digest(fences.render(f.path.read_text(encoding="utf-8"), str(a.source_dir / f.rel),
                                                        stub_tasks=set() if f.given else None).encode())
            for f in sources.walk(a) if f.kind == "python"}


def _graders_use_torch(graders: Path) -> bool:
    return graders.is_dir() and any("import torch" in p.read_text(encoding="utf-8", errors="replace")
                                    for p in graders.rglob("*.py"))


def _hash_tree(h, root: Path) -> None:
    if root.is_file():
        h.update(root.name.encode() + b"\0" + root.read_bytes())
        return
    for p in sorted(root.rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc":
            h.update(str(p.relative_to(root)).encode() + b"\0" + p.read_bytes() + b"\0")


def grader_hash(plan: Plan) -> str:
    h = hashlib.sha256(f"vitlab-engine-{ENGINE_VERSION}\0".encode())
    for root in (plan.graders_dir, plan.harness_dir, ENGINE_DIR, plan.assignment.source_dir / "assignment.toml"):
        if root.exists():
            _hash_tree(h, root)
    for f in sources.walk(plan.assignment):
        h.update(str(f.rel).encode() + b"\0" + f.path.read_bytes() + b"\0")
    return h.hexdigest()[:16]
