"""Task isolation by test doubles (autograder/harness/doubles_a2.py, doubles_a3.py).

- A submission that solves only task T (every other task left as its released stub) scores
  full marks on T: whatever T reaches in another task is a double.
- No double reveals a solution: no non-trivial line of a doubles file is a line of a
  solution fence (the leak guard's definition, vitlab/release/leaks.py).
- `pairs_for` doubles every cross-task edge that the graders exercise (table below).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from autograder.engine.inside import doubles
from autograder.engine.examples import write_base
from autograder.engine.notebooks.cells import notebook_tasks
from autograder.engine.plan import _fenced_modules
from vitlab.course import load_course
from vitlab.release import leaks, sources

ROOT = Path(__file__).resolve().parents[2]
HARNESS = ROOT / "autograder" / "harness"
COURSE = load_course()
# the kit's a2 and a3 (a course baked without them has nothing to isolate here)
ASSIGNMENTS = tuple(a for a in ("a2", "a3") if a in {x.id for x in COURSE.assignments}
                    and (HARNESS / f"doubles_{a}.py").is_file())

# consumer task -> objects of other tasks it (or the harness calls its graders make) reaches
EDGES = {
    "a2": {
        "2.4": ["attention:mhsa_forward", "attention:mhsa_backward"],
        "2.5": ["patches:patch_embed_forward", "patches:patch_embed_backward", "tokens:cls_forward",
                "tokens:cls_backward", "tokens:pos_embed_forward", "tokens:pos_embed_backward",
                "tokens:sinusoidal_1d", "tokens:sinusoidal_2d", "blocks:block_forward", "blocks:block_backward"],
        "2.8": ["models:_Encoder._encoder_forward", "models:_Encoder._encoder_backward", "models:_Encoder._loss",
                "models:ViT._tokens_forward", "models:ViT._tokens_backward", "models:ConViT._tokens_forward",
                "models:ConViT._tokens_backward", "optim:SGD._update", "optim:Adam._update", "optim:AdamW._decay",
                "optim:warmup_cosine", "optim:step_decay", "data:iterate_minibatches", "data:random_crop",
                "data:random_flip", "data:normalize"],
        "2.9": ["checkpoint:save_checkpoint", "checkpoint:load_checkpoint", "models:_Encoder._loss",
                "models:ViT._tokens_forward", "data:normalize"],
    },
    "a3": {
        "3.3": ["modules:PatchEmbed.forward", "modules:Mlp.forward", "modules:Attention.forward"],
        "3.4": ["modules:PatchEmbed.forward", "modules:Block.forward", "modules:Attention.forward"],
        "3.6": ["modules:PatchEmbed.forward", "modules:Block.forward", "modules:Attention.forward",
                "convit:GPSA.forward", "convit:GPSA.get_attention", "convit:GPSA.pos_attention",
                "convit:GPSA.local_init", "convit:rel_indices"],
        "3.7": ["convit:rel_indices", "convit:GPSA.local_init"],
        "3.8": ["modules:VisionTransformer.forward_features", "modules:VisionTransformer.forward_head",
                "convit:ConViT.forward_features", "convit:ConViT.forward_head",
                "convit:HybridConViT.forward_features", "convit:HybridConViT.forward_head",
                "optim:AdamW.step", "optim:param_groups", "optim:WarmupCosine.lr_at",
                "checkpoint:save_checkpoint", "checkpoint:load_checkpoint"],
        "3.9": ["modules:VisionTransformer.forward_features", "convit:GPSA.local_init", "convit:rel_indices"],
        "3.10": ["modules:Attention.forward", "convit:GPSA.forward", "convit:GPSA.get_attention",
                 "modules:Block.forward", "convit:ConViT.forward_features", "checkpoint:load_checkpoint"],
    },
}


def _owners(aid: str) -> tuple[dict, set]:
    modules = _fenced_modules(COURSE.assignment(aid))
    return ({m: o for m, (_, _, o, _) in modules.items()}, {m for m, (_, _, _, g) in modules.items() if g})


def _py_tasks(aid: str) -> list[str]:
    a = COURSE.assignment(aid)
    return [t.id for t in a.tasks if t.id not in notebook_tasks(a)]


# ----------------------------------------------------------------------------- (c) the edge table
@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_every_double_names_an_owned_object_of_its_assignment(aid):
    owners, given = _owners(aid)
    known = {f"{m}:{q}" for m, owned in owners.items() if m not in given for q in owned}
    table = doubles.table(HARNESS, aid)
    assert set(table) - known == set(), f"doubles_{aid}.py names objects no task owns"
    assert all(callable(f) for f in table.values())


@pytest.mark.parametrize("aid,task", [(a, t) for a in ASSIGNMENTS for t in EDGES[a]] or
                         [pytest.param("a2", "", marks=pytest.mark.skip(reason="no a2/a3 in this course"))])
def test_pairs_for_covers_each_cross_task_edge(aid, task):
    owners, given = _owners(aid)
    table = doubles.table(HARNESS, aid)
    pairs = {f"{m}:{q}" for m, q in doubles.pairs_for(owners, task, given, table)}
    missing = sorted(set(EDGES[aid][task]) - pairs)
    assert not missing, f"task {task} reaches {missing} without a double"
    own = {f"{m}:{q}" for m, owned in owners.items() for q, t in owned.items() if t == task}
    assert not pairs & own, f"task {task}'s own code must never be doubled"


# ----------------------------------------------------------------------------- (b) no solution lines
def _solution_lines() -> dict[str, str]:
    secret: dict[str, str] = {}
    for a in COURSE.assignments:
        for f in sources.walk(a):
            if f.kind == "python" and not f.given:
                secret.update(leaks.secret_lines(f.path, f"solutions/{a.folder}/{f.rel}"))
    for line in leaks._public_lines(COURSE):   # shipped in the clear anyway
        secret.pop(line, None)
    return secret


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_doubles_share_no_line_with_a_solution(aid):
    secret = _solution_lines()
    path = HARNESS / f"doubles_{aid}.py"
    shared = [(n, secret[s]) for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
              if (s := leaks._secret(line)) in secret]
    assert not shared, f"{path.name} repeats solution lines: {shared[:5]}"


@pytest.mark.skipif("a2" not in ASSIGNMENTS, reason="the planted line is a2's")
def test_the_line_check_can_fail():
    """A line copied from a fence is found (the check above is not vacuous)."""
    secret = _solution_lines()
    assert leaks._secret("    scale = 1.0 / float(np.sqrt(q.shape[-1]))  # a Python float keeps float32 arrays float32") \
        in secret


# ----------------------------------------------------------------------------- (a) isolation
def _grade_isolated(aid: str, root: Path) -> dict:
    from autograder.engine.grade import grade_all
    a = COURSE.assignment(aid)
    everything = {t.id for t in a.tasks}
    for task in _py_tasks(aid):
        dest = root / "subs" / f"only_{task.replace('.', '_')}"
        write_base(a, dest, "reference", stub_tasks=everything - {task})
        for nb in dest.rglob("*.ipynb"):   # notebook tasks are not part of this check
            nb.unlink()
    summary = grade_all(aid, root / "subs", root / "out", workers=2, force=True)
    return {r["extra_data"]["student"]: {t["task"]: t for t in r["extra_data"]["tasks"]} for r in summary.results}


@pytest.fixture(scope="module", params=ASSIGNMENTS or [None])
def isolated(request, tmp_path_factory):
    aid = request.param
    if aid is None:
        pytest.skip("no a2/a3 in this course")
    return aid, _grade_isolated(aid, tmp_path_factory.mktemp(f"doubles_{aid}"))


@pytest.mark.slow
def test_a_task_solved_alone_gets_full_marks(isolated):
    aid, graded = isolated
    bad = []
    for task in _py_tasks(aid):
        t = graded[f"only_{task.replace('.', '_')}"][task]
        if t["score"] != t["max_score"]:
            bad.append(f"{task}: {t['status']}: {t['message'][:300]}")
    assert not bad, f"{aid}: tasks that lose points when every other task is a stub:\n" + "\n".join(bad)
