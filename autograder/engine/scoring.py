"""Turn per-test records into per-task statuses and scores.

Statuses: passed, partial, failed, not_implemented, error, timeout, memory, tampered,
missing, banned, review. A task scores points x (weight of passed tests / total weight); a
task marked tampered, banned or review scores 0 (review: a capstone checkpoint held until the
instructor decides, in overrides.csv). A test marked `property` (a property of working code:
inputs left alone, a temporary file beside its target) earns its weight only when one of
its task's value checks earned something: code that keeps its inputs but computes the wrong
thing has not done the task.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

STATUSES = ("passed", "partial", "failed", "not_implemented", "error", "timeout", "memory",
            "tampered", "missing", "banned", "review")
# a failure of one of these kinds speaks for the whole task, in this order
DOMINANT = ("tampered", "banned", "review", "timeout", "memory")
ZERO = ("tampered", "banned", "review")
OUTPUT_SHOWN = 2000  # characters of the student's own output shown per task (head + tail)


@dataclass
class TaskResult:
    task: str
    title: str
    max_score: float
    score: float
    status: str
    message: str = ""
    hint: str | None = None
    passed: int = 0
    total: int = 0
    failed: int = 0                  # checks that did not pass
    check: str = ""                  # the first failing check: "name: what it checks"
    output: str = ""                 # what the student's code printed (truncated)
    output_bytes: int = 0
    tests: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def score_task(task, records: list, outputs: list[tuple[int, str]]) -> TaskResult:
    recs = [r for r in records if r.task == task.id and r.outcome != "skipped"]
    res = TaskResult(task.id, task.title, task.points, 0.0, "error")
    res.output_bytes = sum(n for n, _ in outputs)
    res.output = _shorten("".join(t for _, t in outputs), res.output_bytes)
    res.tests = [{"name": r.name, "status": r.status, "weight": r.weight} for r in recs]
    if not recs:
        res.message = "no hidden tests ran for this task (reported to the instructor)"
        return res
    total = sum(r.weight for r in recs)
    values = [r for r in recs if not getattr(r, "property", False)]
    working = not values or any(_earned(r) > 0 for r in values)
    won = sum(r.weight * _earned(r) for r in (recs if working else values))
    res.passed, res.total = sum(r.status == "passed" for r in recs), len(recs)
    res.failed = res.total - res.passed
    res.score = round(task.points * won / total, 4) if total > 0 else 0.0
    failing = [r for r in recs if r.status != "passed"]
    if not failing:
        res.status = "passed"
        return res
    first = failing[0]
    for kind in DOMINANT:
        hit = next((r for r in failing if r.status == kind), None)
        if hit is not None:
            first, res.status = hit, kind
            break
    else:
        res.status = "partial" if won > 0 else first.status
    if res.status in ZERO:
        res.score = 0.0
    res.message, res.hint = first.message, first.hint
    res.check = getattr(first, "check", "")
    return res


CHECK_TEXT = 240  # characters of a check's description


def check_text(name: str, func=None, params: dict | None = None) -> str:
    """A hidden check as feedback names it: the test's name without `test_`, underscores
    as spaces, its parameters, then the first paragraph of its docstring. Grader text,
    never student text, and no expected value: docstrings say what is checked, not the answer."""
    base, _, ids = name.partition("[")
    text = base.removeprefix("test_").replace("_", " ")
    if params:
        text += " [" + ", ".join(f"{k}={_param(v)}" for k, v in params.items()) + "]"
    elif ids:
        text += f" [{ids.rstrip(']')}]"
    doc = (getattr(func, "__doc__", None) or "").strip().split("\n\n")[0]
    doc = " ".join(doc.split())
    if doc:
        text += f": {doc}"
    return text if len(text) <= CHECK_TEXT else text[:CHECK_TEXT - 3].rstrip() + "..."


def _earned(r) -> float:
    return 1.0 if r.status == "passed" else _credit(r)


def _credit(r) -> float:
    """A failed check's partial credit: the share of a sweep's cases that passed (0 for
    any other failure, and for records written before sweeps)."""
    return min(max(float(getattr(r, "credit", 0.0) or 0.0), 0.0), 1.0) if r.status == "failed" else 0.0


def _shorten(text: str, total: int) -> str:
    if len(text) <= OUTPUT_SHOWN:
        return text
    half = OUTPUT_SHOWN // 2
    return f"{text[:half]}\n[... output truncated: {total} bytes in all ...]\n{text[-half:]}"


def total(results: list[TaskResult]) -> tuple[float, float]:
    return round(sum(r.score for r in results), 4), round(sum(r.max_score for r in results), 4)


def _param(value) -> str:
    text = getattr(value, "__name__", None) or str(value)   # np.float32 -> float32
    return text if len(text) <= 40 else text[:37] + "..."
