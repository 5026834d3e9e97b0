.PHONY: release release-check check
release: $(STAMP) ## regenerate assignments/ (stubs, nbgrader notebooks) from solutions/
	@$(PY) -m vitlab.release

release-check: $(STAMP) ## fail if the committed assignments/ is out of sync with solutions/
	@$(PY) -m vitlab.release --check

ASSIGNMENT ?=
check: $(STAMP) ## run public tests on the reference: make check [ASSIGNMENT=a1] [TASK=1.3]
	@for d in $(if $(ASSIGNMENT),$$($(PY) -m vitlab.course folder $(ASSIGNMENT)),$$($(PY) -m vitlab.course folders)); do \
	  echo "== solutions/$$d"; (cd solutions/$$d && ../../$(PY) -m pytest $(if $(TASK),-m task$(subst .,_,$(TASK)))) || exit 1; done
