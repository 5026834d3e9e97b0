# The kit's tests, in two tiers (markers are registered in pyproject.toml):
#   make test                 the fast loop: every module and trust property, no whole pipelines
#   make test-all             everything: adds the deep tier (slow pipelines, baked courses)
#   make test AREA=grading    one area (a folder of tests/: a1 ... term; several: AREA="a1 term")
# Tests run side by side on JOBS pytest-xdist workers (default: one per core); a file's tests
# stay on one worker, so a module-scoped fixture (one grading run) is built once. PYTEST_ARGS
# is passed on.
# The marker selection lives here, not in pyproject's addopts, so `pytest tests/x.py::test_y`
# runs a deep test by name.
.PHONY: test test-all
PYTEST_ARGS ?=
AREA ?=
JOBS ?= auto
TEST_AREAS := $(sort $(notdir $(patsubst %/,%,$(dir $(wildcard tests/*/conftest.py tests/*/test_*.py)))))
TEST_PATHS = $(if $(strip $(AREA)),$(foreach a,$(AREA),$(if $(filter $(a),$(TEST_AREAS)),tests/$(a),$(error AREA=$(a) is not an area of tests/; the areas: $(TEST_AREAS)))),tests)
FAST_TIER := not slow and not bake
PYTEST = PYTHONPATH=.:datasets $(PY) -m pytest $(TEST_PATHS) -n $(JOBS) --dist loadfile

test: $(STAMP) ## the fast test loop, a few minutes on 2 cores: [AREA=grading] [JOBS=n] [PYTEST_ARGS=...]
	@$(PYTEST) -m "$(FAST_TIER)" $(PYTEST_ARGS)

test-all: $(STAMP) ## every test, deep tier included (what CI runs): [AREA=...] [JOBS=n] [PYTEST_ARGS=...]
	@$(PYTEST) $(PYTEST_ARGS)
