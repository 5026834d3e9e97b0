"""A pytest plugin for the round-trip test: writes each test's task markers and outcome.

Loaded into a public-test run with `-p report_plugin`; the JSON path comes from
VITLAB_REPORT.
"""
import json
import os

import pytest

_results = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" or (rep.when == "setup" and rep.outcome != "passed"):
        _results[item.nodeid] = {
            "markers": sorted(m.name for m in item.iter_markers() if m.name.startswith("task")),
            "outcome": rep.outcome,
            "longrepr": str(rep.longrepr)[-3000:] if rep.longrepr else "",
        }


def pytest_collectreport(report):
    if report.failed:
        _results[f"collect:{report.nodeid}"] = {"markers": [], "outcome": "error", "longrepr": str(report.longrepr)[-3000:]}


def pytest_sessionfinish(session):
    with open(os.environ["VITLAB_REPORT"], "w") as f:
        json.dump(_results, f)
