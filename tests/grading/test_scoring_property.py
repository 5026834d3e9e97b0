"""A test marked `property` (inputs left alone, a temporary file beside its target) counts only
when one of its task's value checks earns something: keeping the inputs while computing the
wrong thing is not the task done (a test double, staged where student code runs, keeps them too)."""
from types import SimpleNamespace

from autograder.engine.scoring import score_task
from autograder.engine.session import TestRecord as Record

TASK = SimpleNamespace(id="2.6", title="Optimisers", points=10.0)


def rec(name, status, prop=False, credit=0.0):
    r = Record(f"t::{name}", name, "2.6", 1.0, outcome="passed" if status == "passed" else "failed",
                   status=status, credit=credit)
    r.property = prop
    return r


def test_a_property_alone_earns_nothing():
    res = score_task(TASK, [rec("values", "failed"), rec("in_place", "passed", prop=True)], [])
    assert res.score == 0 and res.status == "failed"


def test_a_property_counts_once_a_value_check_earns():
    res = score_task(TASK, [rec("values", "passed"), rec("more_values", "failed"), rec("in_place", "passed", prop=True)], [])
    assert res.score == round(10.0 * 2 / 3, 4) and res.status == "partial"
    swept = score_task(TASK, [rec("values", "failed", credit=0.5), rec("in_place", "passed", prop=True)], [])
    assert swept.score == 10.0 * 1.5 / 2


def test_a_task_of_properties_only_is_scored_as_usual():
    res = score_task(TASK, [rec("in_place", "passed", prop=True), rec("beside", "failed", prop=True)], [])
    assert res.score == 5.0
