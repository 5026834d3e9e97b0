.PHONY: test
PYTEST_ARGS ?=
test: $(STAMP) ## run the kit's whole test suite (release, leak guard, round trip, graders, notebooks)
	@PYTHONPATH=.:datasets $(PY) -m pytest tests $(PYTEST_ARGS)
